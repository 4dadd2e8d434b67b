// examples/quickstart/bulk.ts: one bulk push, several job types
import { defineJob, type JobPusher } from "@faktory-ts/faktory";
import { SendEmail } from "./jobs.ts";

const Resize = defineJob<[imageId: number, width: number]>("Resize");

export async function welcome(jobs: JobPusher, email: string, avatarId: number): Promise<string[]> {
  return await jobs.performMany([
    [SendEmail, [email, "Welcome"]],
    [[Resize, { queue: "images" }], [avatarId, 128]],
  ]);
}
