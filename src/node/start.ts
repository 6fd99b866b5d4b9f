import { pino } from "pino";
import { DashboardFeed, dashboardRoutes } from "../dashboard/index.js";
import { defaultRaftLimits, NONE } from "../raft/index.js";
import { assertRunFits, RespServer, RUN_BYTES_MAX } from "../resp/index.js";
import { HttpApi, proposalBytesMax } from "../server/index.js";
import { batchEntryBytesMax } from "../stack/index.js";
import { assertFrameFits, defaultTransportLimits } from "../transport/index.js";
import { assertClusterViewFits, type NodeStatus } from "./cluster-view.js";
import { defaultDriverLimits } from "./driver-config.js";
import { defaultLeaderRequestLimits } from "./leader-requests.js";
import { RaftNode } from "./node.js";
import { type NodeOptions, selfMember } from "./options.js";
import { checkPortsFree, nodeListeners } from "./port-check.js";
import { assertForwardedRunFits, RUN_KEY_BYTES_MAX } from "./run-forward.js";
import type { TestHooks } from "./test-hooks.js";
import { loadSecurity, startupWarnings } from "./tls-options.js";

export interface RunningNode {
  readonly id: number;
  /** This node's client URL as published (with the port actually bound, if it listens on port 0). */
  readonly clientUrl: string;
  /** The port the RESP listener bound, if --resp-port was given. */
  readonly respPort?: number;
  readonly node: RaftNode;
  status(): NodeStatus;
  /** Graceful: hands leadership away first (if leader), then stops the server, transport and storage. */
  close(): Promise<Shutdown>;
}

/** What a graceful stop did with leadership. */
export interface Shutdown {
  readonly wasLeader: boolean;
  /** The node that leads after this one stepped down, if one was known within the wait (a leader only). */
  readonly handedOverTo?: number;
}

export interface StartExtras {
  /** Storage failed under a running node; main exits non-zero. Default: log only. */
  readonly onFatal?: (err: unknown) => void;
  /** Collect process-wide metrics too (main does; several nodes in one test process do not). */
  readonly processMetrics?: boolean;
  /** Test-only hooks (test-hooks.ts), from RAFTSTACK_TEST_HOOKS in main. */
  readonly testHooks?: TestHooks;
}

/** Time a stopping leader waits for its successor, so clients see no election gap. */
const TRANSFER_WAIT_MS = 1000;
/** After stepping down, time to wait for the successor's first message, which names it. */
const SUCCESSOR_WAIT_MS = 300;
const SUCCESSOR_POLL_MS = 10;

/**
 * Opens storage, starts the peer transport, the Raft driver and the HTTP API. Throws
 * StorageCorruptionError (naming file, offset and the repair command) if the data dir is damaged, and
 * ListenerError (naming the port and its setting) before anything is created if a port is taken.
 */
export async function startNode(options: NodeOptions, extras: StartExtras = {}): Promise<RunningNode> {
  // The layers meet here: the largest entry the driver proposes (one client write, from an HTTP body
  // or a RESP request that resp/limits.ts keeps within the HTTP one, or a full batch of writes) must
  // fit one replicated append in one peer frame. The driver asserts the batch against the core.
  const entryBytesMax = Math.max(proposalBytesMax(), batchEntryBytesMax(defaultDriverLimits));
  assertFrameFits(defaultRaftLimits, { entryBytesMax });
  assertClusterViewFits(defaultTransportLimits.frameBytesMax);
  assertRunFits({
    ...defaultDriverLimits,
    ...defaultLeaderRequestLimits,
    runKeyBytesMax: RUN_KEY_BYTES_MAX,
  });
  assertForwardedRunFits(RUN_BYTES_MAX, defaultTransportLimits.frameBytesMax);
  // Before anything is created: a start that fails on a port in use leaves no data dir behind.
  await checkPortsFree(nodeListeners(options));
  const logger = pino({ level: options.logLevel, base: { node: options.id } });
  // Read first: a missing certificate or a bad token file stops the start before storage opens.
  const security = loadSecurity(options.security, logger);
  let node: RaftNode;
  try {
    node = await RaftNode.open(options, {
      logger,
      processMetrics: extras.processMetrics ?? false,
      ...(extras.onFatal === undefined ? {} : { onFatal: extras.onFatal }),
      ...(extras.testHooks === undefined ? {} : { testHooks: extras.testHooks }),
    });
  } catch (err) {
    security.close();
    throw err;
  }
  const { host } = options.listenClient;
  for (const warning of startupWarnings(options)) logger.warn(warning);
  const { access, clientTls: tls } = security;
  const dashboard = new DashboardFeed(node, {}, (err) => logger.warn({ err }, "dashboard refresh failed"));
  const api = new HttpApi(node, {
    host,
    port: options.listenClient.port,
    requestTimeoutMs: options.requestTimeoutMs,
    logger,
    routes: dashboardRoutes(dashboard),
    onRequest: (route, status) => node.metrics.httpRequest(route, status),
    ...(access === undefined ? {} : { access }),
    ...(tls === undefined ? {} : { tls }),
  });
  const resp =
    options.respPort === undefined
      ? undefined
      : new RespServer(node, {
          host,
          port: options.respPort,
          logger,
          guard: api.guard,
          registry: node.metrics.registry,
          ...(access === undefined ? {} : { access }),
          ...(tls === undefined ? {} : { tls }),
        });
  await node.start();
  let port: number;
  let respPort: number | undefined;
  try {
    port = await api.listen();
    respPort = await resp?.listen();
  } catch (err) {
    security.close();
    await api.close();
    await node.close();
    throw err;
  }
  dashboard.start();
  // A listener on port 0 publishes the port it got.
  const advertised = new URL(options.advertiseClientUrl);
  if (advertised.port === "0") advertised.port = String(port);
  const clientUrl = advertised.origin;
  node.setAdvertisedClientUrl(clientUrl);
  logger.info(
    {
      clientUrl,
      listen: `${host}:${port}`,
      respPort,
      peerUrl: selfMember(options).peerUrl,
      listenPeerUrl: options.listenPeerUrl,
      dataDir: options.dataDir,
    },
    "node started",
  );
  let closing: Promise<Shutdown> | undefined;
  return {
    id: options.id,
    clientUrl,
    ...(respPort === undefined ? {} : { respPort }),
    node,
    status: () => node.status(),
    close() {
      closing ??= (async () => {
        const shutdown = await handOver(node, options.id);
        logger.info(shutdown, "shutting down");
        dashboard.stop();
        security.close();
        await Promise.all([api.close(), resp?.close()]);
        await node.close();
        logger.flush();
        return shutdown;
      })();
      return closing;
    },
  };
}

/**
 * A leader hands leadership to the most caught-up responsive voter and reports who took over. Stepping down is not
 * enough: a leader whose followers are gone steps down alone (check-quorum) and hands over to nobody.
 */
async function handOver(node: RaftNode, id: number): Promise<Shutdown> {
  if (node.role() !== "leader") return { wasLeader: false };
  if (!(await node.transferLeadership(TRANSFER_WAIT_MS))) return { wasLeader: true };
  const deadline = Date.now() + SUCCESSOR_WAIT_MS;
  for (;;) {
    const leader = node.status().leader;
    if (leader !== NONE && leader !== id) return { wasLeader: true, handedOverTo: leader };
    if (Date.now() >= deadline) return { wasLeader: true };
    await new Promise((resolve) => setTimeout(resolve, SUCCESSOR_POLL_MS));
  }
}
