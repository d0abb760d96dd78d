/**
 * What a transport gives the network suite (`NetworkHarness`): a server around the suite's handler,
 * a client to it, and a way to take the target down. A contract only: it must never assume a
 * particular transport.
 */
import type { RaftNetwork, RaftNetworkFactory, RaftRpcHandler } from '@flotilla/types';

/** A client connected to a server that runs the suite's handler. */
export interface NetworkFixture {
  /** A client to the target node, whose server side calls the handler given to `setup`. */
  client: RaftNetwork;
  /**
   * Takes the target down (server stopped, node unroutable): from now on calls to it fail with
   * `UnreachableError`.
   */
  stopTarget(): Promise<void>;
}

/**
 * How the network suite builds a transport: a server serving `handler` (scripted by the suite) and
 * a client to it.
 */
export interface NetworkHarness {
  /** Starts a server around `handler` and returns a client to it. */
  setup(handler: RaftRpcHandler): Promise<NetworkFixture>;
  /** Stops the server and the client. */
  teardown?(fixture: NetworkFixture): Promise<void>;
  /**
   * Whether to run the `streamAppend` cases (default `true`: the client must implement it). Set it
   * to `false` for a transport without `streamAppend`; the stream cases are then left out.
   */
  requireStreamAppend?: boolean;
  /**
   * A factory of the transport when its addresses are `host:port`: the suite then checks its
   * `validateAddress` accepts dialable addresses and refuses the others with a reason.
   */
  hostPortAddresses?: RaftNetworkFactory;
}
