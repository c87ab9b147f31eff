#include "engine/scheduler/runner.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>

#include "base/check.h"
#include "base/log.h"
#include "engine/lora/lora_apply.h"

namespace socle::engine::scheduler {

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::STOP:
      return "stop";
    case FinishReason::LENGTH:
      return "length";
    case FinishReason::CANCELLED:
      return "cancelled";
    case FinishReason::ERROR:
      return "error";
  }
  return "stop";
}

struct Runner::Sequence {
  Sequence(uint64_t id_, SequenceRequest r, std::shared_ptr<SequenceSink> s, uint64_t salt_)
      : id(id_),
        user(std::move(r.user)),
        tokens(std::move(r.prompt)),
        prompt_tokens(static_cast<int64_t>(tokens.size())),
        max_tokens(r.max_tokens),
        stop_ids(std::move(r.stop_token_ids)),
        sampler(std::move(r.sampling), tokens,
                r.json_object
                    ? std::make_unique<sampling::JsonConstraint>(std::move(r.json_object), stop_ids)
                    : nullptr),
        sink(std::move(s)),
        lora(std::move(r.lora)),
        salt(salt_),
        prompt_logprobs(r.prompt_logprobs) {}

  int64_t generated() const { return static_cast<int64_t>(tokens.size()) - prompt_tokens; }

  uint64_t id;
  std::string user;
  std::vector<int32_t> tokens;  // the prompt, then every token sampled but a stop token
  int64_t prompt_tokens;
  int64_t max_tokens;
  std::vector<int32_t> stop_ids;
  sampling::Sampler sampler;
  std::shared_ptr<SequenceSink> sink;
  std::shared_ptr<const LoraAdapter> lora;  // nullptr: the base model
  uint64_t salt;                            // the prefix cache's: lora_identity, 0 for the base
  int64_t computed = 0;      // leading positions whose keys and values are in the cache
  bool admitted = false;     // holds KV blocks
  int64_t stop_sampled = 0;  // 1 once a stop token was sampled (it counts as generated)
  int32_t prompt_logprobs;   // < 0: none wanted
  // The prompt's log-probabilities computed so far (position p's entry is token p + 1's);
  // sent once the prompt is read, then `prompt_logprobs_sent`.
  std::vector<sampling::Sample> prompt_samples;
  bool prompt_logprobs_sent = false;
  // Every prompt position must be computed (their logits are wanted).
  bool wants_prompt_logits() const { return prompt_logprobs >= 0 && !prompt_logprobs_sent; }
};

Result<std::unique_ptr<Runner>> Runner::start(const LlamaModel& model, RunnerOptions options) {
  const HfConfig& c = model.config();
  if (options.block_tokens < 1 || options.block_tokens > 1024) {
    return invalid_argument("block_tokens must be in [1, 1024]", "block_tokens");
  }
  if (options.threads < 1) return invalid_argument("threads must be at least 1", "threads");
  if (options.max_sequences < 1) {
    return invalid_argument("max_sequences must be at least 1", "max_sequences");
  }
  if (options.max_batch_tokens < options.max_sequences) {
    return invalid_argument("max_batch_tokens (" + std::to_string(options.max_batch_tokens) +
                                ") must be at least max_sequences (" +
                                std::to_string(options.max_sequences) +
                                "): every running sequence decodes one token per step",
                            "max_batch_tokens");
  }
  if (options.kv_type != DType::F32 && options.kv_type != DType::F16) {
    return invalid_argument("kv_type must be f32 or f16", "kv_type");
  }
  int64_t per_block = KvPool::bytes_per_block(c.num_layers, options.block_tokens,
                                              c.num_kv_heads * c.head_dim, options.kv_type);
  int64_t n_blocks = options.kv_bytes / per_block;
  if (n_blocks < 2) {
    return invalid_argument("a KV memory budget of " + std::to_string(options.kv_bytes) +
                                " bytes holds fewer than two blocks of " +
                                std::to_string(per_block) + " bytes; raise it",
                            "kv_bytes");
  }
  if (n_blocks > INT32_MAX) n_blocks = INT32_MAX;
  return std::unique_ptr<Runner>(new Runner(model, options, n_blocks));
}

Runner::Runner(const LlamaModel& model, RunnerOptions options, int64_t n_blocks)
    : model_(model),
      options_(options),
      capacity_tokens_(n_blocks * options.block_tokens),
      threads_(options.threads),
      pool_(model.new_pool(n_blocks, options.block_tokens, options.kv_type)),
      blocks_(static_cast<int32_t>(n_blocks), options.block_tokens) {
  pool_.touch_all();  // the budget held from the start (kv_pool.h)
  counters_.block_tokens = options.block_tokens;
  counters_.blocks = blocks_.stats();
  stats_ = counters_;
  thread_ = std::thread([this] { loop(); });
}

Runner::~Runner() {
  stop();
}

void Runner::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<uint64_t> Runner::submit(SequenceRequest request, std::shared_ptr<SequenceSink> sink) {
  int64_t vocab = model_.config().vocab_size;
  if (request.prompt.empty()) return invalid_argument("the prompt has no tokens", "prompt");
  if (request.json_object && request.stop_token_ids.empty()) {
    return invalid_argument(
        "a JSON object needs a stop token to end the sequence once it is closed, and this "
        "request has none",
        "response_format");
  }
  for (int32_t t : request.prompt) {
    if (t < 0 || t >= vocab) {
      return invalid_argument("the prompt holds token " + std::to_string(t) +
                                  ", outside the model's vocabulary of " + std::to_string(vocab),
                              "prompt");
    }
  }
  if (request.max_tokens < 1) return invalid_argument("max_tokens must be >= 1", "max_tokens");
  auto prompt = static_cast<int64_t>(request.prompt.size());
  if (prompt + request.max_tokens > capacity_tokens_) {
    return invalid_argument("the prompt (" + std::to_string(prompt) + " tokens) plus max_tokens (" +
                                std::to_string(request.max_tokens) + ") exceed the " +
                                std::to_string(capacity_tokens_) +
                                " positions this model's KV cache holds",
                            "max_tokens");
  }
  SOCLE_RETURN_IF_ERROR(sampling::validate(request.sampling, vocab));
  if (request.prompt_logprobs > sampling::MAX_TOP_LOGPROBS) {
    return invalid_argument(
        "prompt_logprobs must be at most " + std::to_string(sampling::MAX_TOP_LOGPROBS),
        "logprobs");
  }
  uint64_t salt = 0;
  if (request.lora != nullptr) {
    Status fits = lora_fits(model_.config(), *request.lora);
    if (!fits.is_ok()) return invalid_argument(fits.message(), "model");
    salt = lora_salt(request.lora);
  }
  uint64_t id = 0;
  {
    std::lock_guard lock(mu_);
    id = next_id_++;
    inbox_.push_back(std::make_shared<Sequence>(id, std::move(request), std::move(sink), salt));
  }
  wake_.notify_one();
  return id;
}

uint64_t Runner::lora_salt(const std::shared_ptr<const LoraAdapter>& adapter) {
  {
    std::lock_guard lock(salts_mu_);
    std::erase_if(salts_, [](const LoraSalt& s) { return s.adapter.expired(); });
    for (const LoraSalt& s : salts_) {
      if (s.adapter.lock() == adapter) return s.salt;
    }
  }
  // Outside the lock: it reads every value of the adapter.
  uint64_t salt = lora_identity(*adapter);
  std::lock_guard lock(salts_mu_);
  salts_.push_back({adapter, salt});
  return salt;
}

void Runner::cancel(uint64_t id) {
  {
    std::lock_guard lock(mu_);
    cancels_.push_back(id);
  }
  wake_.notify_one();
}

RunnerStats Runner::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void Runner::loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] {
        return stop_ || !inbox_.empty() || !cancels_.empty() || !running_.empty() ||
               !waiting_.empty();
      });
      if (stop_) break;
    }
    step();
  }
  // Stopping: every sequence ends cancelled.
  take_inbox();
  while (!running_.empty())
    finish(running_.back(), FinishReason::CANCELLED);
  for (auto& [user, queue] : waiting_) {
    for (auto& seq : queue) {
      counters_.cancelled++;
      seq->sink->on_finish(FinishReason::CANCELLED, seq->generated() + seq->stop_sampled);
    }
  }
  waiting_.clear();
  publish_stats();
}

void Runner::take_inbox() {
  std::vector<std::shared_ptr<Sequence>> arrived;
  {
    std::lock_guard lock(mu_);
    arrived.swap(inbox_);
  }
  for (auto& seq : arrived)
    waiting_[seq->user].push_back(std::move(seq));
}

void Runner::drop_cancelled() {
  std::vector<uint64_t> ids;
  {
    std::lock_guard lock(mu_);
    ids.swap(cancels_);
  }
  for (uint64_t id : ids) {
    auto run =
        std::find_if(running_.begin(), running_.end(), [id](const auto& s) { return s->id == id; });
    if (run != running_.end()) {
      finish(*run, FinishReason::CANCELLED);
      continue;
    }
    for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
      auto& queue = it->second;
      auto w =
          std::find_if(queue.begin(), queue.end(), [id](const auto& s) { return s->id == id; });
      if (w == queue.end()) continue;
      std::shared_ptr<Sequence> seq = *w;
      queue.erase(w);
      if (queue.empty()) waiting_.erase(it);
      counters_.cancelled++;
      seq->sink->on_finish(FinishReason::CANCELLED, seq->generated() + seq->stop_sampled);
      break;
    }
  }
}

void Runner::admit() {
  while (static_cast<int32_t>(running_.size()) < options_.max_sequences && !waiting_.empty()) {
    // Users in turn: the first queue after the user admitted last, wrapping around.
    auto it = waiting_.upper_bound(next_user_);
    if (it == waiting_.end()) it = waiting_.begin();
    std::shared_ptr<Sequence> seq = it->second.front();
    // Leave a block of room per running sequence, so that a new prompt does not take the
    // blocks the running ones need to grow (and get preempted at once).
    if (!running_.empty()) {
      kv::BlockStats b = blocks_.stats();
      int64_t room = b.free + b.cached;
      if (blocks_.blocks_needed(seq->tokens, seq->salt, !seq->wants_prompt_logits()) +
              static_cast<int64_t>(running_.size()) >
          room)
        break;
    }
    std::optional<int64_t> cached =
        blocks_.begin(seq->id, seq->tokens, seq->salt, !seq->wants_prompt_logits());
    if (!cached) break;  // the blocks free up as sequences end
    it->second.pop_front();
    next_user_ = it->first;
    if (it->second.empty()) waiting_.erase(it);
    seq->computed = *cached;
    seq->admitted = true;
    running_.push_back(std::move(seq));
  }
}

void Runner::preempt(std::shared_ptr<Sequence> seq) {
  blocks_.release(seq->id);
  seq->admitted = false;
  seq->computed = 0;
  running_.erase(std::find(running_.begin(), running_.end(), seq));
  counters_.preemptions++;
  waiting_[seq->user].push_front(std::move(seq));
}

// The copy keeps the sequence alive while it is erased from running_, which may hold the
// caller's reference.
// NOLINTNEXTLINE(performance-unnecessary-value-param)
void Runner::finish(std::shared_ptr<Sequence> keep, FinishReason reason) {
  if (keep->admitted) blocks_.release(keep->id);
  keep->admitted = false;
  auto it = std::find(running_.begin(), running_.end(), keep);
  if (it != running_.end()) running_.erase(it);
  if (reason == FinishReason::CANCELLED) {
    counters_.cancelled++;
  } else {
    counters_.finished++;
  }
  keep->sink->on_finish(reason, keep->generated() + keep->stop_sampled);
}

bool Runner::step() {
  take_inbox();
  drop_cancelled();
  admit();
  if (running_.empty()) {
    publish_stats();
    return false;
  }

  // How many tokens each running sequence reads this step: one for those generating, then
  // what the budget leaves to the prompts, in admission order.
  std::unordered_map<uint64_t, int64_t> plan;
  int64_t left = options_.max_batch_tokens;
  for (const auto& seq : running_) {
    if (static_cast<int64_t>(seq->tokens.size()) - seq->computed == 1) {
      plan[seq->id] = 1;
      left--;
    }
  }
  for (const auto& seq : running_) {
    int64_t pending = static_cast<int64_t>(seq->tokens.size()) - seq->computed;
    if (pending > 1) {
      int64_t n = std::min(pending, std::max<int64_t>(left, 0));
      plan[seq->id] = n;
      left -= n;
    }
  }
  // Room in the cache, preempting from the most recently admitted when blocks run short.
  for (size_t i = 0; i < running_.size(); ++i) {
    std::shared_ptr<Sequence> seq = running_[i];
    int64_t n = plan[seq->id];
    if (n == 0) continue;
    while (!blocks_.reserve(seq->id, seq->computed + n)) {
      std::shared_ptr<Sequence> victim = running_.back();
      preempt(victim);
      if (victim == seq) break;
    }
  }

  std::vector<std::shared_ptr<Sequence>> members;
  std::vector<BatchSequence> batch;
  for (const auto& seq : running_) {
    int64_t n = plan[seq->id];
    if (n == 0) continue;
    BatchSequence b;
    b.tokens = std::span<const int32_t>(seq->tokens)
                   .subspan(static_cast<size_t>(seq->computed), static_cast<size_t>(n));
    b.pos0 = seq->computed;
    b.blocks = blocks_.table(seq->id);
    b.lora = seq->lora.get();
    b.all_logits = seq->wants_prompt_logits() && seq->computed < seq->prompt_tokens;
    members.push_back(seq);
    batch.push_back(b);
  }
  if (batch.empty()) {
    publish_stats();
    return true;  // everything was preempted: admission retries next step
  }
  std::vector<float>& logits = logits_;
  Status st = model_.forward_batch(batch, pool_, threads_, &logits);
  counters_.steps++;
  if (!st.is_ok()) {
    log::error("the forward pass refused a batch", {{"error", st.message()}});
    for (const auto& seq : members)
      finish(seq, FinishReason::ERROR);
    publish_stats();
    return true;
  }

  auto vocab = static_cast<size_t>(model_.config().vocab_size);
  // Which members sample a token this step (their prompt is all read), from which logits row.
  std::vector<size_t> sampling_rows(members.size(), SIZE_MAX);
  size_t row = 0;  // the first logits row of members[k]
  for (size_t k = 0; k < members.size(); ++k) {
    const std::shared_ptr<Sequence>& seq = members[k];
    int64_t n = static_cast<int64_t>(batch[k].tokens.size());
    size_t rows = batch[k].all_logits ? static_cast<size_t>(n) : 1;
    if (batch[k].all_logits) collect_prompt_logprobs(*seq, logits, row, n);
    if (seq->computed + n == static_cast<int64_t>(seq->tokens.size())) {
      sampling_rows[k] = row + rows - 1;
    }
    row += rows;
  }
  // Each sequence samples with its own sampler from its own row, so the members sample on
  // the step's threads at once (a few percent of a large batch's step, one after another).
  std::vector<sampling::Sample> samples(members.size());
  threads_.parallel_for(static_cast<int64_t>(members.size()), 1, [&](int64_t begin, int64_t end) {
    for (auto k = static_cast<size_t>(begin); k < static_cast<size_t>(end); ++k) {
      if (sampling_rows[k] == SIZE_MAX) continue;
      samples[k] = members[k]->sampler.sample(
          std::span<const float>(logits).subspan(sampling_rows[k] * vocab, vocab));
    }
  });
  for (size_t k = 0; k < members.size(); ++k) {
    const std::shared_ptr<Sequence>& seq = members[k];
    int64_t n = static_cast<int64_t>(batch[k].tokens.size());
    if (seq->computed < seq->prompt_tokens) {
      counters_.prompt_tokens += std::min(n, seq->prompt_tokens - seq->computed);
    }
    seq->computed += n;
    blocks_.publish(
        seq->id, std::span<const int32_t>(seq->tokens).first(static_cast<size_t>(seq->computed)));
    if (sampling_rows[k] == SIZE_MAX) continue;  // prompt unread
    if (seq->wants_prompt_logits()) {
      seq->prompt_logprobs_sent = true;
      seq->sink->on_prompt_logprobs(seq->prompt_samples);
      seq->prompt_samples = {};
    }
    sampling::Sample& s = samples[k];
    counters_.generated_tokens++;
    if (std::find(seq->stop_ids.begin(), seq->stop_ids.end(), s.token) != seq->stop_ids.end()) {
      seq->stop_sampled = 1;
      finish(seq, FinishReason::STOP);
      continue;
    }
    seq->tokens.push_back(s.token);
    if (!seq->sink->on_token(s)) {
      finish(seq, FinishReason::STOP);
    } else if (seq->generated() >= seq->max_tokens) {
      finish(seq, FinishReason::LENGTH);
    }
  }
  publish_stats();
  return true;
}

void Runner::collect_prompt_logprobs(Sequence& seq, std::span<const float> logits, size_t row,
                                     int64_t n) {
  auto vocab = static_cast<size_t>(model_.config().vocab_size);
  // Row t of this chunk predicts position computed + t + 1, while that is in the prompt.
  for (int64_t t = 0; t < n; ++t) {
    int64_t next = seq.computed + t + 1;
    if (next >= seq.prompt_tokens) break;
    if (next - 1 < static_cast<int64_t>(seq.prompt_samples.size())) continue;  // recomputed
    std::span<const float> z = logits.subspan((row + static_cast<size_t>(t)) * vocab, vocab);
    int32_t token = seq.tokens[static_cast<size_t>(next)];
    seq.prompt_samples.push_back(
        sampling::Sample{token, sampling::log_softmax_at(z, token),
                         sampling::top_log_softmax(z, seq.prompt_logprobs)});
  }
}

void Runner::publish_stats() {
  counters_.running = static_cast<int64_t>(running_.size());
  int64_t waiting = 0;
  for (const auto& [user, queue] : waiting_)
    waiting += static_cast<int64_t>(queue.size());
  counters_.waiting = waiting;
  counters_.blocks = blocks_.stats();
  std::lock_guard lock(mu_);
  stats_ = counters_;
  stats_.waiting += static_cast<int64_t>(inbox_.size());
}

}  // namespace socle::engine::scheduler
