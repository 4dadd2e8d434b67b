// For tsc (the npm build): the workerd built-in modules the Cloudflare adapter
// imports. Deno leaves such specifiers untyped; the adapter declares the
// shapes it uses, so `unknown` is enough here.

declare module "cloudflare:sockets" {
  export const connect: unknown;
}

declare module "cloudflare:workers" {
  export const env: unknown;
}
