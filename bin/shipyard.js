#!/usr/bin/env node
// The `shipyard` command. Our sources are TypeScript; tsx loads them without a build step so the CLI
// and the Dagger module always run the same code.
import { register } from "tsx/esm/api";

register();
const { main } = await import("./cli.ts");
process.exitCode = await main(process.argv.slice(2));
