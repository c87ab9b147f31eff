#include "http/sse.h"

namespace socle::http {

std::string sse_event(std::string_view data, std::string_view event) {
  std::string out;
  out.reserve(data.size() + 16);
  if (!event.empty()) {
    out += "event: ";
    out += event;
    out += '\n';
  }
  while (true) {
    size_t nl = data.find('\n');
    out += "data: ";
    out += data.substr(0, nl);
    out += '\n';
    if (nl == std::string_view::npos) break;
    data.remove_prefix(nl + 1);
  }
  out += '\n';
  return out;
}

SseWriter::SseWriter(ResponderPtr responder) : responder_(std::move(responder)) {
  responder_->start_stream(200, {{"content-type", "text/event-stream"},
                                 {"cache-control", "no-cache"},
                                 {"x-accel-buffering", "no"}});
}

bool SseWriter::send(std::string_view data) {
  return responder_->write(sse_event(data));
}

bool SseWriter::send_event(std::string_view event, std::string_view data) {
  return responder_->write(sse_event(data, event));
}

void SseWriter::done() {
  if (closed_) return;
  responder_->write("data: [DONE]\n\n");
  close();
}

void SseWriter::close() {
  if (closed_) return;
  closed_ = true;
  responder_->finish();
}

}  // namespace socle::http
