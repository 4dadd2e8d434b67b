/**
 * The server a command talks to: `--url` (else the environment, as the
 * library reads it), `--ca` and `--timeout`. The password is added to the
 * secrets output never shows.
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import process from "node:process";
import { Client, type ClientOptions, silentLogger } from "../mod.ts";
import { envSettings, maskUrl, parseUrl } from "../src/settings.ts";
import { str, UsageError, type Values, wholeNumber } from "./args.ts";
import { addSecret } from "./output.ts";

/** Connection options from the command line, and the URL to show (masked). */
export interface Connection {
  readonly options: ClientOptions & { readonly url: string };
  readonly shownUrl: string;
}

/** Reads the connection options; a bad URL is a `ValidationError`, a bad option a `UsageError`. */
export async function connection(values: Values): Promise<Connection> {
  const url = str(values.url) ?? envSettings((name) => process.env[name]).url;
  addSecret(parseUrl(url).password);
  const timeout = wholeNumber(str(values.timeout), "--timeout", 1);
  const ca = str(values.ca);
  let caCert: string | undefined;
  if (ca !== undefined) {
    try {
      caCert = await readFile(ca, "utf8");
    } catch (e) {
      throw new UsageError(`Cannot read --ca ${ca}: ${(e as Error).message}`);
    }
  }
  return {
    options: {
      url,
      ...(caCert === undefined ? {} : { tls: { caCerts: [caCert] } }),
      ...(timeout === undefined ? {} : { connectTimeout: timeout, commandTimeout: timeout }),
    },
    shownUrl: maskUrl(url),
  };
}

/** Connects a client as the command line says. */
export async function connect(values: Values): Promise<{ client: Client; url: string }> {
  const { options, shownUrl } = await connection(values);
  const client = await Client.connect({ ...options, logger: silentLogger });
  return { client, url: shownUrl };
}
