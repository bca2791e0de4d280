/** What notebooks use besides the library: rich output, recorded facts and the first cell's setup. */
export { display, markdown, preformatted, html, table, formatNumber, texNumber, kernelKind, type MimeBundle, type KernelKind } from "./display";
export { fact, check, NotebookCheckError, FACT_MIME, type Fact } from "./facts";
export { setupNotebook, backendFromEnv, BACKEND_ENV, type NotebookSetup } from "./setup";
