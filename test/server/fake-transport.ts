import { Message } from '../../src/messages';
import { Transport } from '../../src/transport/transport';

/** A Transport the test drives: it keeps what the node sends and hands the test the node's handler. */
export class FakeTransport implements Transport {
  handler: ((m: Message, from?: string) => void) | null = null;
  sent: Message[] = [];
  async start(h: (m: Message, from?: string) => void): Promise<void> {
    this.handler = h;
  }
  send(m: Message): void {
    this.sent.push(m);
  }
  async close(): Promise<void> {}
}
