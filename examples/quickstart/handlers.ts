// examples/quickstart/handlers.ts: the module `faktory-ts work ./handlers.ts` runs
// Its default export registers the handlers: the function the tests use, too.
export { registerHandlers as default } from "./signup.ts";
