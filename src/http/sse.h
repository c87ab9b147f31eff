// Server-sent events over a Responder, as OpenAI's streaming endpoints use them:
// "data: <json>\n\n" per event and "data: [DONE]\n\n" at the end.
#pragma once

#include <string>
#include <string_view>

#include "http/responder.h"

namespace socle::http {

// Formats one event. Multi-line data is split into several "data:" lines, as the SSE
// specification requires; `event` names the event type when not empty.
std::string sse_event(std::string_view data, std::string_view event = {});

class SseWriter {
 public:
  // Starts the stream: 200, text/event-stream, no caching, no proxy buffering.
  explicit SseWriter(ResponderPtr responder);

  // Each returns false once the client has gone.
  bool send(std::string_view data);
  bool send_event(std::string_view event, std::string_view data);
  // Sends "data: [DONE]" and ends the response.
  void done();
  // Ends the response without [DONE] (after an error event).
  void close();

  Responder& responder() { return *responder_; }

 private:
  ResponderPtr responder_;
  bool closed_ = false;
};

}  // namespace socle::http
