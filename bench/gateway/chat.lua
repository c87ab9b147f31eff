-- wrk script for bench/gateway/run: every request is the same small, non-streaming
-- OpenAI chat completion request. The per-target headers (socle's key, Portkey's routing)
-- come from wrk's -H options.
wrk.method = "POST"
wrk.body = '{"model":"bench-model","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16}'
wrk.headers["Content-Type"] = "application/json"
