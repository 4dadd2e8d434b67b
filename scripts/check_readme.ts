/**
 * Every TypeScript block in README.md is a real file: its first line names
 * the file (`// examples/...: ...`) and the block must equal that file, which
 * `deno task check` type-checks. Run: `deno run -A scripts/check_readme.ts`.
 */
const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const problems: string[] = [];
for (const block of blocks) {
  const path = /^\/\/ ([\w./-]+\.ts)[:\s]/.exec(block)?.[1];
  if (path === undefined) {
    problems.push(`A ts block does not name its file on its first line:\n${block.slice(0, 120)}`);
    continue;
  }
  const file = await Deno.readTextFile(new URL(`../${path}`, import.meta.url)).catch(() => "");
  if (file.trim() !== block.trim()) {
    problems.push(`The README's block for ${path} differs from the file`);
  }
}
if (problems.length > 0) {
  await Deno.stderr.write(new TextEncoder().encode(problems.join("\n") + "\n"));
  Deno.exit(1);
}
await Deno.stdout.write(
  new TextEncoder().encode(`README: ${blocks.length} ts blocks match their files\n`),
);
