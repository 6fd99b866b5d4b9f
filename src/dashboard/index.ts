// The live dashboard every node serves at /dashboard: the page and uPlot (assets/, copied into dist at
// build time, served with no network access), and the server side that feeds it over Server-Sent Events.
export { type Asset, assets, assetText } from "./assets.js";
export {
  DashboardFeed,
  type DashboardLimits,
  type DashboardSource,
  type DashboardUpdate,
  defaultDashboardLimits,
  type StacksView,
} from "./feed.js";
export { fetchSummary, PEER_TIMEOUT_MS_DEFAULT, type PeerAnswer, type PeerSummary } from "./peers.js";
export { dashboardRoutes } from "./routes.js";
export { type RatePoint, RateSamples } from "./samples.js";
export { SSE_CLIENTS_MAX_DEFAULT, SseClients } from "./sse.js";
export { type ClusterPicture, clusterPicture, type Health, type MemberRow } from "./view.js";
