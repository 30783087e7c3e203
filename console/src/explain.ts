import { gql } from './api.js';
import { QUEUE, type Explanation, type Node } from './queries.js';

export interface QueueEntry {
  resource: Node;
  deleteAfter: string;
  explanation: Explanation;
}

/** The deletion queue, each entry with the subgraph's own explanation. */
export async function queue(): Promise<QueueEntry[]> {
  return (await gql<{ deletionQueue: QueueEntry[] }>(QUEUE)).deletionQueue;
}
