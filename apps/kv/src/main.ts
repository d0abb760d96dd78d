#!/usr/bin/env node
/**
 * The built entry point of flotilla-kv (`dist/main.js`): what a deployment runs, plain JavaScript
 * with every workspace package resolved to its built `dist`. `bin/flotilla-kv` runs the same `main`
 * from the TypeScript sources for development. Must never hold logic of its own.
 *
 * @module
 */
import { main } from './cli.ts';

process.exitCode = await main(process.argv.slice(2));
