/**
 * moto's ECR (`python3 -m moto.server`, a second, independent implementation of the API), started on
 * a free loopback port for one test file, with an SDK client to arrange repositories and images.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { CreateRepositoryCommand, ECRClient, PutImageCommand } from "@aws-sdk/client-ecr";
import { freePort, waitUntilUp } from "./oci-registry.js";

/** moto's default account: the registry id of every repository it holds. */
export const MOTO_ACCOUNT = "123456789012";
export const MOTO_CREDENTIALS = { accessKeyId: "AKIAMOTOECRTEST00001", secretAccessKey: "moto-ecr-secret" };
/** What moto's GetAuthorizationToken hands out as the registry password. */
export const MOTO_LOGIN_PASSWORD = `${MOTO_ACCOUNT}-auth-token`;

export interface MotoEcr {
  endpoint: string;
  client(region: string): ECRClient;
  createRepository(region: string, name: string): Promise<void>;
  /** Puts a manifest into `name` and returns the digest ECR gave it. */
  putImage(region: string, name: string, tag: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startMotoEcr(): Promise<MotoEcr> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const moto: ChildProcess = spawn("python3", ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], {
    stdio: "ignore",
  });
  await waitUntilUp(`${endpoint}/moto-api/`, moto, "moto");
  const client = (region: string) => new ECRClient({ region, endpoint, credentials: MOTO_CREDENTIALS });
  let images = 0;
  return {
    endpoint,
    client,
    async createRepository(region, name) {
      await client(region).send(new CreateRepositoryCommand({ repositoryName: name }));
    },
    async putImage(region, name, tag) {
      images += 1;
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.docker.distribution.manifest.v2+json",
        config: {
          mediaType: "application/vnd.docker.container.image.v1+json",
          size: 2,
          digest: `sha256:${String(images).padStart(64, "0")}`,
        },
        layers: [],
      });
      const answer = await client(region).send(
        new PutImageCommand({ repositoryName: name, imageManifest: manifest, imageTag: tag }),
      );
      const digest = answer.image?.imageId?.imageDigest;
      if (!digest) throw new Error("moto's PutImage answered without a digest");
      return digest;
    },
    async stop() {
      if (moto.exitCode !== null) return;
      const exited = new Promise((resolve) => moto.once("exit", resolve));
      moto.kill("SIGTERM");
      await exited;
    },
  };
}
