// A Transport wrapped for the live view: it reports every message sent and
// received to the node's EventHub (only while someone watches), and it can
// isolate the node -- every message in and out is dropped, as a network
// partition would -- without touching the operating system's network.

import { Message } from '../messages';
import { Transport } from '../transport/transport';
import { EventHub } from './event-hub';
import { summarizeMessage } from './events';

export class ObservedTransport implements Transport {
  private isolatedNow = false;

  constructor(
    private readonly inner: Transport,
    private readonly hub: EventHub,
  ) {}

  get isolated(): boolean {
    return this.isolatedNow;
  }

  /** Cut the node off from its peers (true) or reconnect it (false). */
  setIsolated(isolated: boolean): void {
    if (isolated === this.isolatedNow) return;
    this.isolatedNow = isolated;
    this.hub.publish({ kind: 'fault', fault: isolated ? 'isolated' : 'healed', detail: isolated ? 'every message in and out is dropped' : 'messages flow again' });
  }

  start(handler: (message: Message, from?: string) => void): Promise<void> {
    return this.inner.start((m, from) => {
      if (this.isolatedNow) return;
      if (this.hub.listening) this.hub.publish({ kind: 'receive', message: summarizeMessage(m) });
      handler(m, from);
    });
  }

  send(message: Message): void {
    if (this.isolatedNow) return;
    if (this.hub.listening) this.hub.publish({ kind: 'send', message: summarizeMessage(message) });
    this.inner.send(message);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  counters(): object {
    return this.inner.counters?.() ?? {};
  }
}
