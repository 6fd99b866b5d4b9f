// The HTTP API's shared vocabulary (docs/api.md): imported by the server and by the client library,
// so it depends on no other layer.
export {
  type ApiErrorCode,
  apiErrorStatusByCode,
  isApiErrorCode,
  isTransferFailureReason,
  TRANSFER_FAILURE_REASONS,
  type TransferFailureReason,
} from "./errors.js";
export { isRole, ROLES, type Role, roleAllows } from "./roles.js";
