"""An OpenAI-compatible chat-completions server on a free loopback port, scripted per request.

Every LLM test goes through the real litellm code path to this server. A script entry says
what the next request gets:
  {"text": "...", "chunks": 5, "chunk_delay": 0.01}   a reply (streamed in chunks when asked)
  {"status": 429, "retry_after": 1}                  a rate limit, with Retry-After
  {"status": 500}                                    a server error
  {"delay": 30}                                      a hang (the client should time out)
  {"text": "...", "cut_after": 2}                    a stream cut after 2 chunks
  {"text": "...", "finish_reason": "length"}          a reply cut by max_tokens
  {"text": "...", "prompt_tokens": 10}               the server's prompt-token count (truncation)
  {"hang": true}                                     accepts and reads the request, never answers (until
                                                     the server stops; a number: that many seconds, then
                                                     the connection closes without a reply)
  {"text": "...", "trickle": 1.0}                    a word per chunk, one every 1.0 s (not streamed: the
                                                     JSON body written in pieces, one every 1.0 s)
  {"text": "...", "first_delay": 5}                  streamed: the headers at once, the first chunk 5 s later
An entry with "match": "some text" waits for the first request whose messages contain it
(concurrent callers arrive in any order). Otherwise ``responder(body)`` answers when set (a
function of the request returning an entry), else requests get ``default_text``.
``latency`` delays every reply by that many seconds (benchmarks)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _count(messages: list) -> int:
    """Prompt tokens as a real server reports them: a real tokenizer plus a few per message."""
    from ftd_tui.core.economics.counting import tiktoken_encoding

    enc = tiktoken_encoding()
    texts = [str(m.get("content", "")) for m in messages]
    if enc is None:
        return sum(len(t.split()) for t in texts)
    return sum(len(enc.encode(t, disallowed_special=())) + 4 for t in texts)


class FakeOpenAI:
    """Also answers Ollama's /api/chat (non-streaming), for the ollama_chat/ route."""

    def __init__(self, default_text: str = "ok"):
        self.default_text = default_text
        self.responder = None
        self.latency = 0.0
        self.script: list[dict] = []
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()  # releases the handlers of "hang" entries
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def push(self, *entries: dict) -> None:
        with self.lock:
            self.script.extend(entries)

    def _next(self, body_text: str = "", body: dict | None = None) -> dict:
        with self.lock:
            for i, entry in enumerate(self.script):
                if "match" not in entry or entry["match"] in body_text:
                    return self.script.pop(i)
        if self.responder is not None and body is not None:
            entry = self.responder(body)
            if entry is not None:
                return entry
        return {"text": self.default_text}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake.lock:
                    fake.requests.append({"body": body, "headers": dict(self.headers)})
                entry = fake._next(json.dumps(body.get("messages", [])), body)
                if fake.latency:
                    time.sleep(fake.latency)
                if "delay" in entry:
                    time.sleep(entry["delay"])
                if entry.get("hang"):
                    # the connection stays open and silent: no status line, no headers, no body
                    fake.stopping.wait(None if entry["hang"] is True else float(entry["hang"]))
                    self.close_connection = True
                    return
                status = entry.get("status", 200)
                if status != 200:
                    headers = {"Retry-After": str(entry["retry_after"])} if "retry_after" in entry else {}
                    self._json(status, {"error": {"message": entry.get("message", f"scripted {status}"),
                                                  "type": "rate_limit_error" if status == 429 else "server_error"}},
                               headers)
                    return
                text = entry.get("text", fake.default_text)
                prompt_tokens = entry.get("prompt_tokens", _count(body.get("messages", [])))
                if self.path.rstrip("/").endswith("/api/chat"):  # Ollama's own chat endpoint (ollama_chat/)
                    self._json(200, {"model": body.get("model"), "created_at": "2026-11-25T00:00:00Z",
                                     "message": {"role": "assistant", "content": text}, "done": True,
                                     "done_reason": "length" if entry.get("finish_reason") == "length" else "stop",
                                     "prompt_eval_count": prompt_tokens, "eval_count": len(text.split())})
                    return
                usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(text.split()),
                         "total_tokens": prompt_tokens + len(text.split())}
                if body.get("stream"):
                    self._stream(text, entry, usage, body)
                else:
                    self._json(200, {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                                     "model": body.get("model", "fake-model"),
                                     "choices": [{"index": 0, "finish_reason": entry.get("finish_reason", "stop"),
                                                  "message": {"role": "assistant", "content": text}}],
                                     "usage": usage}, trickle=float(entry.get("trickle", 0)))

            def _json(self, status: int, payload: dict, headers: dict | None = None, trickle: float = 0.0) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if not trickle:
                    self.wfile.write(data)
                    return
                try:  # the body in eight pieces, one every `trickle` seconds: each read succeeds in time
                    step = max(1, -(-len(data) // 8))
                    for i in range(0, len(data), step):
                        if fake.stopping.wait(trickle):
                            return
                        self.wfile.write(data[i:i + step])
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _stream(self, text: str, entry: dict, usage: dict, body: dict) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                n = max(1, int(entry.get("chunks", 8)))
                size = max(1, -(-len(text) // n))
                pieces = [text[i:i + size] for i in range(0, len(text), size)] or [""]
                delay = float(entry.get("chunk_delay", 0.0))
                if "trickle" in entry:  # a word per chunk, each after a pause
                    pieces = [w + " " for w in text.split(" ")] or [""]
                    pieces[-1] = pieces[-1][:-1]
                    delay = float(entry["trickle"])
                try:
                    if entry.get("first_delay") and fake.stopping.wait(float(entry["first_delay"])):
                        return
                    for i, piece in enumerate(pieces):
                        if "cut_after" in entry and i >= entry["cut_after"]:
                            self.wfile.flush()
                            self.connection.shutdown(2)  # the stream stops mid-way
                            return
                        chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                                 "model": body.get("model", "fake-model"),
                                 "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                        self.wfile.flush()
                        if delay and fake.stopping.wait(delay):
                            return
                    final = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                             "model": body.get("model", "fake-model"),
                             "choices": [{"index": 0, "delta": {}, "finish_reason": entry.get("finish_reason", "stop")}],
                             "usage": usage}
                    self.wfile.write(f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n".encode())
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler


if __name__ == "__main__":  # a server in its own process (benchmarks): script from a JSON file
    import sys

    entries = json.loads(open(sys.argv[1]).read())
    with FakeOpenAI(default_text=entries.pop(0)) as server:
        server.push(*entries)
        print(server.base_url, flush=True)
        server.thread.join()
