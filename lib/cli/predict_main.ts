/** Entry point of the predict task (kept apart from predict.ts so tests can import that without running it). */
import process from "node:process";
import { run } from "./predict";

await run(process.argv.slice(2));
