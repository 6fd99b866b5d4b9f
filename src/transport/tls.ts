import { createServer, connect as netConnect, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket, connect as tlsConnect } from "node:tls";
import type { PeerAddress } from "./options.js";

/**
 * Peer mTLS material (--peer-cert-file, --peer-key-file, --peer-trusted-ca-file): each node presents its
 * certificate and verifies the other side's against the CA, in both directions.
 */
export interface PeerTls {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
}

/**
 * The peer listener. With TLS, a socket reaches `onSocket` only after a handshake in which the peer
 * presented a certificate the CA signed: a connection without one is closed by the TLS layer before a
 * single frame byte is read. `onTlsRefused` is told about each such connection, and about one whose
 * handshake is not done within `handshakeTimeoutMs`: anyone who reaches the port can open one before a
 * certificate is seen, and Node's default (120 s) would let a few dozen of them fill the listener.
 */
export function createPeerServer(
  tls: PeerTls | undefined,
  handshakeTimeoutMs: number,
  onSocket: (socket: Socket) => void,
  onTlsRefused: (err: Error, remote: string | undefined) => void,
): Server {
  if (tls === undefined) return createServer(onSocket);
  const server = createTlsServer(
    {
      cert: tls.cert,
      key: tls.key,
      ca: tls.ca,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: "TLSv1.2",
      handshakeTimeout: handshakeTimeoutMs,
    },
    onSocket,
  );
  server.on("tlsClientError", (err: Error, socket: TLSSocket) => {
    onTlsRefused(err, socket.remoteAddress);
    // Node closes a socket after most handshake errors but not after a handshake timeout: with a
    // listener here, closing it is ours to do (without, nothing closes it at all).
    socket.destroy();
  });
  return server;
}

/**
 * Dials a peer; `ready` is the socket event after which frames may go out: "connect" for TCP,
 * "secureConnect" (the peer's certificate verified against the CA and its URL's host) for TLS.
 * `reset` closes the connection with a TCP reset, discarding what the kernel still buffers for it: a
 * plain close would keep retransmitting that backlog to a cut-off peer and deliver it at the heal.
 */
export function dialPeer(
  tls: PeerTls | undefined,
  address: PeerAddress,
): {
  readonly socket: Socket;
  /** The TCP connection under `socket` (`socket` itself without TLS): "connect" once its SYN is answered. */
  readonly tcp: Socket;
  readonly ready: "connect" | "secureConnect";
  readonly reset: () => void;
} {
  const tcp = netConnect({ host: address.host, port: address.port });
  const reset = () => {
    tcp.resetAndDestroy();
  };
  if (tls === undefined) return { socket: tcp, tcp, ready: "connect", reset };
  const socket = tlsConnect({
    socket: tcp,
    // Not dialled again (the socket is given): the name the peer's certificate is checked against.
    host: address.host,
    cert: tls.cert,
    key: tls.key,
    ca: tls.ca,
    minVersion: "TLSv1.2",
    // SNI takes host names only; an IP address is checked against the certificate's IP SANs.
    ...(/^[0-9.]+$|:/.test(address.host) ? {} : { servername: address.host }),
  });
  return { socket, tcp, ready: "secureConnect", reset };
}
