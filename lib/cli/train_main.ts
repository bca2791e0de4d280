/** Entry point of the train task (kept apart from train.ts so tests can import that without running it). */
import process from "node:process";
import { run } from "./train";

await run(process.argv.slice(2));
