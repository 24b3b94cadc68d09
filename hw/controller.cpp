// Fetch, decode, dispatch, the three queue threads and their dependency tokens.
//
// Accounting: each queue thread keeps `mark_`, the start of its current interval. Waiting on an
// empty queue is stall_fetch once an instruction arrives (idle if none ever does before END),
// waiting on tokens is stall_token, executing is busy; so busy + stalls + idle == cycles.
#include "controller.h"

#include <algorithm>
#include <sstream>

#include "dram_model.h"

namespace fusesim::hw {

using isa::Instr;
using isa::Opcode;

Controller::Controller(sc_core::sc_module_name name, RunContext& ctx, Dma& load, Nfu& nfu, Dma& store)
    : sc_module(name),
      fetch_socket("fetch_socket"),
      ctx_(ctx),
      load_(load),
      store_(store),
      nfu_(nfu),
      request_(new DramRequest) {
  for (auto& q : queues_) q = std::make_unique<InstrQueue>(ctx.arch().queue_depth);
  payload_.set_extension(request_);
  request_->burst_bytes = ctx.arch().dma_burst_bytes;
  request_->window = nullptr;  // a fetch is one request: all its bursts issue at once
  request_->move_data = true;  // instructions are real words in both modes
  ctx.on_finish([this](uint64_t end) { close_accounting(end); });
  SC_HAS_PROCESS(Controller);
  SC_THREAD(fetch_thread);
  SC_THREAD(serve_load);
  SC_THREAD(serve_compute);
  SC_THREAD(serve_store);
  SC_METHOD(wake_on_halt);
  sensitive << ctx.halt_event();
  dont_initialize();
}

// Each wait is on its one event; a halt (a fault) wakes them all, and each waiter sees it.
void Controller::wake_on_halt() {
  for (auto& q : queues_) q->wake();
  for (auto& e : token_events_) e.notify();
  drained_event_.notify();
  store_done_event_.notify();
}

void Controller::start(uint32_t addr, uint32_t len) {
  prog_addr_ = addr;
  prog_len_ = len;
  const uint64_t page = DramModel::kPageBytes;
  ctx_.set_program_pages(addr / page * page, (uint64_t{addr} + uint64_t{len} * isa::kInstrBytes + page - 1) / page * page);
  start_event_.notify(sc_core::SC_ZERO_TIME);
}

// ---- fetch and dispatch -------------------------------------------------------------------

// The program's length as far as words [0, end) need it: PROG_LEN, or where the program is still
// being generated, the words known so far when they are fewer (-1: a `program` fault stopped
// the run).
int64_t Controller::length_to(uint32_t end) {
  if (!feed_) return prog_len_;
  const int64_t known = feed_->await(end);
  if (known < 0) {
    ctx_.fault("program", end > 0 ? end - 1 : 0, "controller", "the program's generation failed while it ran");
    return -1;
  }
  return std::min<int64_t>(prog_len_, known);
}

bool Controller::request(uint32_t first, Chunk& chunk) {
  const uint32_t words = ctx_.arch().fetch_words;
  const int64_t len = length_to(static_cast<uint32_t>(std::min<uint64_t>(uint64_t{first} + words, prog_len_)));
  if (len < 0) return false;
  chunk.first = first;
  chunk.count = std::min(words, static_cast<uint32_t>(len) - first);
  chunk.bytes.resize(size_t{chunk.count} * isa::kInstrBytes);
  payload_.set_command(tlm::TLM_READ_COMMAND);
  payload_.set_address(uint64_t{prog_addr_} + uint64_t{first} * isa::kInstrBytes);
  payload_.set_data_ptr(chunk.bytes.data());
  payload_.set_data_length(static_cast<unsigned>(chunk.bytes.size()));
  payload_.set_streaming_width(static_cast<unsigned>(chunk.bytes.size()));
  payload_.set_byte_enable_ptr(nullptr);
  payload_.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  request_->issue_cycle = ctx_.now();
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
  fetch_socket->b_transport(payload_, delay);
  if (payload_.is_response_error() || payload_.get_address() + chunk.bytes.size() > ctx_.arch().dram_bytes) {
    ctx_.fault("dram-range", first, "controller",
               "dram-range in instruction fetch (instruction " + std::to_string(first) +
                   ", controller): program words leave the DRAM");
    return false;
  }
  ctx_.stats().fetch_bytes += chunk.bytes.size();
  chunk.instrs.resize(chunk.count);
  for (uint32_t i = 0; i < chunk.count; ++i)
    chunk.instrs[i] = isa::decode(isa::from_bytes(chunk.bytes.data() + size_t{i} * isa::kInstrBytes));
  attribute_fetch(chunk);
  chunk.ready = request_->done_cycle;
  return true;
}

void Controller::fetch_thread() {
  sc_core::wait(start_event_);
  ctx_.wait_until(ctx_.now());  // runs start on a clock edge
  ctx_.begin_run();
  mark_.fill(ctx_.now());
  maps_.fill(isa::MapDesc{});
  Chunk cur, next;
  if (prog_len_ == 0 || !request(0, cur)) {
    if (!ctx_.halted())
      ctx_.fault("decode", 0, "controller", "decode: the program has no END (PROG_LEN is 0)");
    return;
  }
  for (;;) {
    ctrl_state_ = CtrlState::Fetching;
    ctx_.wait_until(cur.ready);
    if (ctx_.halted()) return;
    // Prefetch the next block while this one is dispatched.
    const uint32_t after = cur.first + cur.count;
    const int64_t len = after < prog_len_ ? length_to(after + 1) : prog_len_;
    if (len < 0) return;
    const bool more = after < len;
    if (more && !request(after, next)) return;
    for (uint32_t i = 0; i < cur.count; ++i) {
      const uint32_t index = cur.first + i;
      const auto& word = cur.instrs[i];
      if (!word) {
        ctx_.fault("decode", index, "controller",
                   "decode: instruction " + std::to_string(index) + " (controller) is not a valid ISA v" +
                       std::to_string(isa::kIsaVersion) + " word");
        return;
      }
      if (!dispatch(*word, index)) return;  // END or a fault
    }
    if (!more) {
      ctx_.fault("decode", prog_len_, "controller",
                 "decode: the program ran past PROG_LEN (" + std::to_string(prog_len_) + ") without END");
      return;
    }
    std::swap(cur, next);
  }
}

// Returns false when the run is over (END executed or a fault).
bool Controller::dispatch(const Instr& in, uint32_t index) {
  ctrl_index_ = index;
  switch (static_cast<Opcode>(in.opcode)) {
    case Opcode::Nop:
      return true;
    case Opcode::Desc:
      return set_map(in, index);
    case Opcode::Sync:
      return wait_drained();
    case Opcode::End:
      if (wait_drained()) end_run();
      return false;
    default:
      break;
  }
  const size_t unit = static_cast<size_t>(isa::queue_of(static_cast<Opcode>(in.opcode)));
  InstrQueue& q = *queues_[unit];
  while (q.full()) {
    ctrl_state_ = CtrlState::WaitQueueFull;
    check_deadlock();
    if (ctx_.halted()) return false;
    {
      Waiting w(q.pop_waiters());
      sc_core::wait(q.popped());
    }
    if (ctx_.halted()) return false;
  }
  ctrl_state_ = CtrlState::Fetching;
  ++pending_;
  uint64_t fence = 0;
  if (in.opcode == static_cast<uint32_t>(Opcode::Store)) ++stores_dispatched_;
  if (in.opcode == static_cast<uint32_t>(Opcode::Load) && in.store_fence)
    fence = stores_dispatched_ - std::min<uint64_t>(stores_dispatched_, in.fence_slack);
  InstrQueue::Entry& e = q.slot();
  e.instr = in;
  e.index = index;
  e.fence_stores = fence;
  e.buf_map = maps_[in.buf_desc];
  e.in_map = maps_[in.in_desc];
  e.out_map = maps_[in.out_desc];
  q.push();
  if (Tracer* t = ctx_.tracer())
    t->dispatched(static_cast<int>(isa::queue_of(static_cast<Opcode>(in.opcode))), index,
                  static_cast<uint32_t>(q.size()));
  return true;
}

// DESC (ISA v4): writes a map descriptor register at dispatch, in zero cycles. Register 0 is
// the fixed dense layout; a register or values it cannot hold are fault `decode`.
bool Controller::set_map(const Instr& in, uint32_t index) {
  const isa::MapDesc d =
      isa::MapDesc::of(in.desc_base, in.desc_cpitch, in.desc_gpitch, in.desc_group, in.desc_ring);
  const std::string why = in.desc_id == 0 ? "register 0 is the fixed dense layout" : d.check();
  if (!why.empty()) {
    ctx_.fault("decode", index, "controller",
               "decode: instruction " + std::to_string(index) + " (controller): DESC of map register " +
                   std::to_string(in.desc_id) + " " + d.describe() + ": " + why);
    return false;
  }
  maps_[in.desc_id] = d;
  return true;
}

bool Controller::wait_drained() {
  while (pending_ > 0) {
    ctrl_state_ = CtrlState::WaitDrain;
    check_deadlock();
    if (ctx_.halted()) return false;
    {
      Waiting w(drained_waiters_);
      sc_core::wait(drained_event_);
    }
    if (ctx_.halted()) return false;
  }
  ctrl_state_ = CtrlState::Fetching;
  return true;
}

void Controller::end_run() {
  ctrl_state_ = CtrlState::Done;
  ctx_.finish(ctx_.now());
}

// Closes each unit's open interval at the end of the run (END or fault), so that
// busy + stalls + idle == cycles holds for every unit either way.
void Controller::close_accounting(uint64_t end) {
  for (int u = 0; u < kNumUnits; ++u) {
    UnitStats& us = ctx_.stats().units[u];
    const uint64_t since = std::min(end, phase_start_[u]);
    switch (unit_state_[u]) {
      case UnitState::WaitQueue:
        us.idle_cycles += end - std::min(end, mark_[u]);
        break;
      case UnitState::WaitToken:
      case UnitState::WaitFence:
        us.stall_token_cycles += end - since;
        break;
      case UnitState::Busy:
        us.busy_cycles += end - since;
        break;
    }
  }
}

// ---- queue threads ------------------------------------------------------------------------

int Controller::channel(int from, int to) {
  if (from == kLoadUnit) return kLoadToCompute;
  if (from == kStoreUnit) return kStoreToCompute;
  return to == kLoadUnit ? kComputeToLoad : kComputeToStore;
}

bool Controller::neighbours_exist(int unit, const InstrQueue::Entry& e) {
  const Instr& in = e.instr;
  const bool bad_prev = unit == kLoadUnit && (in.pop_prev || in.push_prev);
  const bool bad_next = unit == kStoreUnit && (in.pop_next || in.push_next);
  if (!bad_prev && !bad_next) return true;
  ctx_.fault("decode", e.index, unit_name(unit),
             std::string("decode: instruction ") + std::to_string(e.index) + " (" + unit_name(unit) +
                 " queue) uses a token of the " + (bad_prev ? "previous" : "next") +
                 " queue, which does not exist");
  return false;
}

// take_tokens and pass_fence wait with the unit's instruction at the head of its queue; they read
// it through front() after each wait, since a deep queue's ring may have grown (moved) meanwhile.
bool Controller::take_tokens(int unit) {
  const Instr& head = queues_[unit]->front().instr;
  const int from[2] = {head.pop_prev ? unit - 1 : -1, head.pop_next ? unit + 1 : -1};
  for (int neighbour : from) {
    if (neighbour < 0) continue;
    const int ch = channel(neighbour, unit);
    const uint64_t wait_from = ctx_.now();
    while (tokens_[ch] == 0) {
      unit_state_[unit] = UnitState::WaitToken;
      waiting_channel_[unit] = ch;
      check_deadlock();
      if (ctx_.halted()) return false;
      {
        Waiting w(token_waiters_[ch]);
        sc_core::wait(token_events_[ch]);
      }
      if (ctx_.halted()) return false;
    }
    --tokens_[ch];
    const uint64_t waited = ctx_.now() - wait_from;
    ctx_.stats().stall_channel_cycles[ch] += waited;
    ctx_.layer(queues_[unit]->front().instr.layer).stall_channel_cycles[ch] += waited;
    if (Tracer* t = ctx_.tracer()) t->tokens(ch, tokens_[ch]);
  }
  return true;
}

// A fenced LOAD waits for the STOREs before it (docs/isa.md, LOAD). Stores complete in
// order, so a count says which have.
bool Controller::pass_fence(int unit) {
  const uint64_t fence = queues_[unit]->front().fence_stores;
  if (fence <= stores_completed_) return true;
  const uint64_t wait_from = ctx_.now();
  fence_wait_ = fence;
  while (stores_completed_ < fence) {
    unit_state_[unit] = UnitState::WaitFence;
    check_deadlock();
    if (ctx_.halted()) return false;
    {
      Waiting w(store_done_waiters_);
      sc_core::wait(store_done_event_);
    }
    if (ctx_.halted()) return false;
  }
  ctx_.stats().stall_fence_cycles += ctx_.now() - wait_from;
  ctx_.layer(queues_[unit]->front().instr.layer).stall_fence_cycles += ctx_.now() - wait_from;
  return true;
}

void Controller::give_tokens(int unit, const Done& d) {
  const int to[2] = {d.push_prev ? unit - 1 : -1, d.push_next ? unit + 1 : -1};
  for (int neighbour : to) {
    if (neighbour < 0) continue;
    const int ch = channel(unit, neighbour);
    ++tokens_[ch];
    if (token_waiters_[ch]) token_events_[ch].notify();  // (none waiting: no effect, skipped)
    if (Tracer* t = ctx_.tracer()) t->tokens(ch, tokens_[ch]);
  }
}

uint64_t Controller::execute(int unit, const InstrQueue::Entry& e) {
  switch (unit) {
    case kLoadUnit:
      return load_.execute(e.instr, e.index, e.buf_map);
    case kStoreUnit:
      return store_.execute(e.instr, e.index, e.buf_map);
    default:
      return nfu_.execute(e.instr, e.index, e.in_map, e.out_map);
  }
}

void Controller::account(int unit, const Done& e, uint64_t start, uint64_t done) {
  const uint64_t base = ctx_.start_cycle();
  UnitStats& us = ctx_.stats().units[unit];
  us.instrs += 1;
  us.busy_cycles += done - start;
  LayerStats& layer = ctx_.layer(e.layer);
  layer.first_cycle = std::min(layer.first_cycle, start - base);
  layer.last_cycle = std::max(layer.last_cycle, done - base);
  if (unit == kComputeUnit) layer.nfu_busy_cycles += done - start;
  if (ctx_.options().keep_timeline)
    ctx_.stats().timeline.push_back(
        {e.index, e.layer, static_cast<uint8_t>(unit), start - base, done - base});
}

void Controller::serve(int unit) {
  InstrQueue& q = *queues_[unit];
  for (;;) {
    while (q.empty()) {
      unit_state_[unit] = UnitState::WaitQueue;
      check_deadlock();
      if (ctx_.halted()) return;
      {
        Waiting w(q.push_waiters());
        sc_core::wait(q.pushed());
      }
      if (ctx_.halted()) return;
    }
    const uint64_t arrived = ctx_.now();
    UnitStats& us = ctx_.stats().units[unit];
    us.stall_fetch_cycles += arrived - mark_[unit];
    ctx_.layer(q.front().instr.layer).stall_fetch_cycles[unit] += arrived - mark_[unit];
    phase_start_[unit] = arrived;
    mark_[unit] = arrived;
    if (!neighbours_exist(unit, q.front()) || !pass_fence(unit) || !take_tokens(unit)) return;
    // The entry is used in place from here: nothing can push into its slot or move the ring
    // before execute() returns (no unit waits inside it); what is needed after the wait for its
    // completion is copied out first.
    const InstrQueue::Entry& e = q.front();
    const uint64_t start = ctx_.now();
    us.stall_token_cycles += start - arrived;
    ctx_.layer(e.instr.layer).stall_token_cycles[unit] += start - arrived;
    unit_state_[unit] = UnitState::Busy;
    phase_start_[unit] = start;
    q.pop();
    trace_started(unit, e);
    const uint64_t done = execute(unit, e);
    if (ctx_.halted()) return;
    const Done finished{e.index, e.instr.layer, e.instr.push_prev != 0, e.instr.push_next != 0};
    ctx_.wait_until(done);
    if (ctx_.halted()) return;
    account(unit, finished, start, done);
    if (Tracer* t = ctx_.tracer()) t->finished(unit);
    give_tokens(unit, finished);
    if (unit == kStoreUnit) {
      ++stores_completed_;
      if (store_done_waiters_) store_done_event_.notify();
    }
    mark_[unit] = done;
    unit_state_[unit] = UnitState::WaitQueue;
    --pending_;
    if (drained_waiters_) drained_event_.notify();
  }
}

void Controller::trace_started(int unit, const InstrQueue::Entry& e) {
  if (Tracer* t = ctx_.tracer())
    t->started(unit, e.index, e.instr.layer, static_cast<uint32_t>(queues_[unit]->size()));
}

// Charges each fetched instruction word to its layer, so that the layers' DRAM reads add up to
// the run's (instruction fetch included). Words that do not decode are charged to layer 0.
void Controller::attribute_fetch(const Chunk& chunk) {
  for (const auto& word : chunk.instrs) ctx_.layer(word ? word->layer : 0).fetch_bytes += isa::kInstrBytes;
}

// ---- deadlock -----------------------------------------------------------------------------

// A unit is stuck when it cannot make progress on its own: an empty queue, or a token it waits
// for that has not been sent. Data state only, so a wake-up still in flight never counts.
bool Controller::unit_stuck(int unit) const {
  switch (unit_state_[unit]) {
    case UnitState::Busy:
      return false;
    case UnitState::WaitQueue:
      return queues_[unit]->empty();
    case UnitState::WaitToken:
      return tokens_[waiting_channel_[unit]] == 0;
    case UnitState::WaitFence:
      return stores_completed_ < fence_wait_;
  }
  return false;
}

void Controller::check_deadlock() {
  if (!ctx_.started() || ctx_.finished()) return;
  const bool ctrl_stuck = ctrl_state_ == CtrlState::WaitQueueFull || ctrl_state_ == CtrlState::WaitDrain;
  bool any_token = false;
  for (int u = 0; u < kNumUnits; ++u) {
    if (!unit_stuck(u)) return;
    any_token |= unit_state_[u] == UnitState::WaitToken || unit_state_[u] == UnitState::WaitFence;
  }
  if (!ctrl_stuck || !any_token) return;
  int64_t first = -1;
  std::string units;
  const std::string report = blocked_report(first, units);
  ctx_.fault("deadlock", first, units, "deadlock: " + report);
}

std::string Controller::blocked_report(int64_t& first_index, std::string& units) const {
  static const char* kFrom[kNumChannels] = {"load", "compute", "store", "compute"};
  std::ostringstream os;
  first_index = -1;
  for (int u = 0; u < kNumUnits; ++u) {
    os << unit_name(u) << " queue: ";
    if (unit_state_[u] == UnitState::WaitToken && !queues_[u]->empty()) {
      const uint32_t idx = queues_[u]->front().index;
      os << "instruction " << idx << " waits for a token from " << kFrom[waiting_channel_[u]];
      if (first_index < 0 || idx < first_index) first_index = idx;
      units += (units.empty() ? "" : "+") + std::string(unit_name(u));
    } else if (unit_state_[u] == UnitState::WaitFence && !queues_[u]->empty()) {
      const uint32_t idx = queues_[u]->front().index;
      os << "instruction " << idx << " waits for store " << fence_wait_ << " (" << stores_completed_ << " done)";
      if (first_index < 0 || idx < first_index) first_index = idx;
      units += (units.empty() ? "" : "+") + std::string(unit_name(u));
    } else if (unit_state_[u] == UnitState::Busy) {
      os << "executing";
    } else {
      os << (queues_[u]->empty() ? "empty" : "not started");
    }
    os << "; ";
  }
  os << "controller: "
     << (ctrl_state_ == CtrlState::WaitDrain ? "waiting for the queues to drain at instruction "
                                             : "at instruction ")
     << ctrl_index_;
  if (first_index < 0) first_index = ctrl_index_;
  if (units.empty()) units = "controller";
  return os.str();
}

void Controller::diagnose_unfinished() {
  if (!ctx_.started() || ctx_.finished()) return;
  int64_t first = -1;
  std::string units;
  const std::string report = blocked_report(first, units);
  ctx_.fault("deadlock", first, units, "deadlock: the simulation ran out of events before END: " + report);
}

}  // namespace fusesim::hw
