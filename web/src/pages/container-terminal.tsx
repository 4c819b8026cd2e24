import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef } from 'react';

/**
 * The exec WebSocket at the origin the page came from: `startExec` names the host the gateway was
 * asked by, which a proxy in front of it may not be (and `wss` behind TLS that ends at the proxy).
 */
export function execSocketUrl(url: string): string {
  const u = new URL(url);
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${u.pathname}${u.search}`;
}

/** Why a console socket closed, in words. */
function closeText(event: CloseEvent, opened: boolean): string {
  if (!opened) return 'could not connect (the console link is used once and expires after 30 s)';
  if (event.code === 4408) return 'closed after being idle';
  return event.reason ? `ended (${event.reason})` : 'ended';
}

/**
 * Joins a terminal to an exec WebSocket: keys go out as binary frames, output comes back as binary
 * frames, and the terminal's size is sent as `{"resize":{cols,rows}}`. Answers the disconnect.
 */
function connect(term: Terminal, url: string, onEnd: (why: string) => void): () => void {
  const ws = new WebSocket(execSocketUrl(url));
  ws.binaryType = 'arraybuffer';
  let opened = false;
  const open = () => ws.readyState === WebSocket.OPEN;
  const sendSize = () => open() && ws.send(JSON.stringify({ resize: { cols: term.cols, rows: term.rows } }));
  ws.onopen = () => {
    opened = true;
    sendSize();
    term.focus();
  };
  ws.onmessage = (e: MessageEvent<ArrayBuffer | string>) =>
    term.write(typeof e.data === 'string' ? e.data : new Uint8Array(e.data));
  ws.onclose = (e) => {
    const why = closeText(e, opened);
    term.write(`\r\n\x1b[2m[console ${why}]\x1b[0m\r\n`);
    onEnd(why);
  };
  const encoder = new TextEncoder();
  const subscriptions = [
    term.onData((data) => open() && ws.send(encoder.encode(data))),
    term.onBinary((data) => open() && ws.send(Uint8Array.from(data, (c) => c.charCodeAt(0)))),
    term.onResize(sendSize),
  ];
  return () => {
    for (const s of subscriptions) s.dispose();
    ws.onclose = null;
    ws.close();
  };
}

/** An xterm.js terminal fitted to its box, on the exec WebSocket at `url` (used once). */
export function ExecTerminal({ url, onEnd }: { url: string; onEnd: (why: string) => void }) {
  const host = useRef<HTMLDivElement>(null);
  const ended = useRef(onEnd);
  ended.current = onEnd;
  useEffect(() => {
    const term = new Terminal({ cursorBlink: true, fontSize: 13, scrollback: 5000 });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(host.current!);
    fit.fit();
    const observer = new ResizeObserver(() => fit.fit());
    observer.observe(host.current!);
    // Connected a tick later: a mount undone at once (React's strict mode) must not spend the ticket.
    let disconnect: (() => void) | undefined;
    const timer = setTimeout(() => (disconnect = connect(term, url, (why) => ended.current(why))), 0);
    return () => {
      clearTimeout(timer);
      observer.disconnect();
      disconnect?.();
      term.dispose();
    };
  }, [url]);
  return <div ref={host} className="terminal" data-testid="terminal" />;
}
