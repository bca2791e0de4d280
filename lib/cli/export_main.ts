/** Entry point of the export task (kept apart from export.ts so tests can import that without running it). */
import process from "node:process";
import { run } from "./export";

await run(process.argv.slice(2));
