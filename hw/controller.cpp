// Fetch, decode, dispatch, the three queue processes and their dependency tokens, and the local
// scheduler that runs them.
//
// Accounting: each queue process keeps `mark_`, the start of its current interval. Waiting on an
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
  SC_THREAD(run_thread);
}

void Controller::start(uint32_t addr, uint32_t len) {
  prog_addr_ = addr;
  prog_len_ = len;
  const uint64_t page = DramModel::kPageBytes;
  ctx_.set_program_pages(addr / page * page, (uint64_t{addr} + uint64_t{len} * isa::kInstrBytes + page - 1) / page * page);
  start_event_.notify(sc_core::SC_ZERO_TIME);
}

// ---- the local scheduler ------------------------------------------------------------------
//
// A run is four processes: fetch (fetch, decode, dispatch) and one per queue (take the head,
// wait for its tokens, execute, wait for its completion, send its tokens). They used to be four
// SC_THREADs, which cost two or three SystemC context switches and a timed event per
// instruction. They are now state machines (fetch_step, unit_step: each runs until it waits,
// and its resume point says where it goes on) that run_thread schedules on a local clock, and
// only the end of the run is a SystemC wait (temporal decoupling, as in TLM-2.0's loosely-timed
// initiators).
//
// The cycles stay exact because the order is SystemC's own, which decides which of two transfers
// issued in one cycle gets the DRAM's bus first. SystemC 2.3's kernel runs the runnable threads
// in the order they became runnable (an immediate notification appends its waiter; the push and
// pop lists of sc_runnable make one FIFO, since the pop list is empty whenever the lists are
// toggled). When none is left it takes the earliest timeouts from a binary heap (sc_ppq, whose
// order among equal times depends on its history) and makes their threads runnable in the order
// the heap yields them. The scheduler keeps the same FIFO and a heap with the same insert and
// heapify steps (TimeoutHeap, tested against sc_ppq), fed the same timeouts in the same order. During a run no other process has a
// timeout pending (the host waits for the interrupt; its last CSR write's one-cycle timeout
// leaves the heap before a second entry can join it), so the heap holds exactly the entries
// SystemC's would. A process resumed after a fault only returned, so the scheduler stops at the
// fault. tests/golden holds the cycles, bytes and per-layer figures of every zoo network to the
// byte.

void Controller::make_runnable(int proc) {
  runnable_[(run_head_ + run_count_) % kNumProcs] = proc;
  ++run_count_;
}

void Controller::notify(int event) {
  const int w = waiter_[event];
  if (w < 0) return;  // nobody waits: no effect, as in SystemC
  waiter_[event] = -1;
  make_runnable(w);
}

void Controller::run_thread() {
  sc_core::wait(start_event_);
  ctx_.wait_until(ctx_.now());  // runs start on a clock edge
  ctx_.begin_run();
  mark_.fill(ctx_.now());
  maps_.fill(isa::MapDesc{});
  if (prog_len_ == 0 || !request(0, cur_)) {
    if (!ctx_.halted())
      ctx_.fault("decode", 0, "controller", "decode: the program has no END (PROG_LEN is 0)");
    return;
  }
  // The queue processes wait for their first instruction; fetch goes on.
  waiter_.fill(-1);
  for (int u = 0; u < kNumUnits; ++u) waiter_[kPushed + u] = u + 1;
  run_head_ = run_count_ = 0;
  timeouts_.clear();
  fetch_pc_ = FetchPc::Top;
  make_runnable(kFetchProc);
  ctx_.enter_local();
  schedule();
  ctx_.leave_local();  // SystemC's time catches up; a finished run raises its interrupt now
}

// Runs the processes until the run ends (END or a fault) or none can go on (then sc_start
// returns with the run unfinished, and Accelerator::diagnose_unfinished says why).
void Controller::schedule() {
  for (;;) {
    while (run_count_ > 0) {
      current_ = runnable_[run_head_];
      run_head_ = (run_head_ + 1) % kNumProcs;
      --run_count_;
      if (current_ == kFetchProc) fetch_step();
      else unit_step(current_ - 1);
      if (ctx_.ended()) return;
    }
    if (timeouts_.empty()) return;
    const uint64_t t = timeouts_.top().cycle;
    ctx_.set_local(t);
    do make_runnable(timeouts_.extract_top().proc);
    while (!timeouts_.empty() && timeouts_.top().cycle == t);
  }
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

// The fetch process: dispatches cur_'s words while next_ is fetched. It returns when it waits,
// and for good at END or a fault.
void Controller::fetch_step() {
  for (;;) {
    switch (fetch_pc_) {
      case FetchPc::Top:
        ctrl_state_ = CtrlState::Fetching;
        fetch_pc_ = FetchPc::Ready;
        if (cur_.ready > ctx_.now()) {
          wait_until(cur_.ready);
          return;
        }
        break;
      case FetchPc::Ready: {
        // Prefetch the next block while this one is dispatched.
        const uint32_t after = cur_.first + cur_.count;
        const int64_t len = after < prog_len_ ? length_to(after + 1) : prog_len_;
        if (len < 0) return;
        more_ = after < len;
        if (more_ && !request(after, next_)) return;
        fetch_i_ = 0;
        fetch_pc_ = FetchPc::Dispatch;
        break;
      }
      case FetchPc::Dispatch: {
        if (fetch_i_ == cur_.count) {
          if (!more_) {
            ctx_.fault("decode", prog_len_, "controller",
                       "decode: the program ran past PROG_LEN (" + std::to_string(prog_len_) + ") without END");
            return;
          }
          std::swap(cur_, next_);
          fetch_pc_ = FetchPc::Top;
          break;
        }
        const uint32_t index = cur_.first + fetch_i_;
        const auto& word = cur_.instrs[fetch_i_];
        if (!word) {
          ctx_.fault("decode", index, "controller",
                     "decode: instruction " + std::to_string(index) + " (controller) is not a valid ISA v" +
                         std::to_string(isa::kIsaVersion) + " word");
          return;
        }
        ctrl_index_ = index;
        switch (static_cast<Opcode>(word->opcode)) {
          case Opcode::Nop:
            ++fetch_i_;
            break;
          case Opcode::Desc:
            if (!set_map(*word, index)) return;
            ++fetch_i_;
            break;
          case Opcode::Sync:
          case Opcode::End:
            fetch_pc_ = FetchPc::Drain;
            break;
          default:
            fetch_pc_ = FetchPc::Full;
            break;
        }
        break;
      }
      case FetchPc::Drain: {  // SYNC and END: wait until every dispatched instruction completed
        if (pending_ > 0) {
          ctrl_state_ = CtrlState::WaitDrain;
          check_deadlock();
          if (ctx_.halted()) return;
          wait_for(kDrained);
          return;
        }
        ctrl_state_ = CtrlState::Fetching;
        if (cur_.instrs[fetch_i_]->opcode == static_cast<uint32_t>(Opcode::End)) {
          end_run();
          return;
        }
        ++fetch_i_;
        fetch_pc_ = FetchPc::Dispatch;
        break;
      }
      case FetchPc::Full: {  // a LOAD, COMPUTE or STORE: into its queue once it has room
        const Instr& in = *cur_.instrs[fetch_i_];
        const int unit = static_cast<int>(isa::queue_of(static_cast<Opcode>(in.opcode)));
        InstrQueue& q = *queues_[unit];
        if (q.full()) {
          ctrl_state_ = CtrlState::WaitQueueFull;
          check_deadlock();
          if (ctx_.halted()) return;
          wait_for(kPopped + unit);
          return;
        }
        ctrl_state_ = CtrlState::Fetching;
        ++pending_;
        uint64_t fence = 0;
        if (in.opcode == static_cast<uint32_t>(Opcode::Store)) ++stores_dispatched_;
        if (in.opcode == static_cast<uint32_t>(Opcode::Load) && in.store_fence)
          fence = stores_dispatched_ - std::min<uint64_t>(stores_dispatched_, in.fence_slack);
        InstrQueue::Entry& e = q.slot();
        e.instr = in;
        e.index = cur_.first + fetch_i_;
        e.fence_stores = fence;
        e.buf_map = maps_[in.buf_desc];
        e.in_map = maps_[in.in_desc];
        e.out_map = maps_[in.out_desc];
        q.push();
        notify(kPushed + unit);
        if (Tracer* t = ctx_.tracer()) t->dispatched(unit, e.index, static_cast<uint32_t>(q.size()));
        ++fetch_i_;
        fetch_pc_ = FetchPc::Dispatch;
        break;
      }
    }
  }
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

void Controller::give_tokens(int unit, const UnitProc& p) {
  const int to[2] = {p.push_prev ? unit - 1 : -1, p.push_next ? unit + 1 : -1};
  for (int neighbour : to) {
    if (neighbour < 0) continue;
    const int ch = channel(unit, neighbour);
    ++tokens_[ch];
    notify(kToken + ch);
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

void Controller::account(int unit, const UnitProc& p) {
  const uint64_t base = ctx_.start_cycle();
  UnitStats& us = ctx_.stats().units[unit];
  us.instrs += 1;
  us.busy_cycles += p.done - p.start;
  LayerStats& layer = ctx_.layer(p.layer);
  layer.first_cycle = std::min(layer.first_cycle, p.start - base);
  layer.last_cycle = std::max(layer.last_cycle, p.done - base);
  if (unit == kComputeUnit) layer.nfu_busy_cycles += p.done - p.start;
  if (ctx_.options().keep_timeline)
    ctx_.stats().timeline.push_back(
        {p.index, p.layer, static_cast<uint8_t>(unit), p.start - base, p.done - base});
}

// A queue's process: waits for an instruction, for the STOREs a fenced LOAD waits for (docs/isa.md,
// LOAD; stores complete in order, so a count says which have) and for its tokens, executes it,
// waits for its completion and sends its tokens. The instruction waits at the head of its queue
// until it executes, and is read through front() after each wait (a deep queue's ring may have
// grown meanwhile). It returns when it waits, and for good at a fault.
void Controller::unit_step(int unit) {
  InstrQueue& q = *queues_[unit];
  UnitProc& p = units_[unit];
  UnitStats& us = ctx_.stats().units[unit];
  for (;;) {
    switch (p.pc) {
      case UnitPc::Top: {
        if (q.empty()) {
          unit_state_[unit] = UnitState::WaitQueue;
          check_deadlock();
          if (ctx_.halted()) return;
          wait_for(kPushed + unit);
          return;
        }
        const uint64_t arrived = ctx_.now();
        us.stall_fetch_cycles += arrived - mark_[unit];
        ctx_.layer(q.front().instr.layer).stall_fetch_cycles[unit] += arrived - mark_[unit];
        phase_start_[unit] = arrived;
        mark_[unit] = arrived;
        if (!neighbours_exist(unit, q.front())) return;
        p.pc = UnitPc::Fence;
        break;
      }
      case UnitPc::Fence: {
        const uint64_t fence = q.front().fence_stores;
        if (fence <= stores_completed_) {
          p.token = 0;
          p.pc = UnitPc::Tokens;
          break;
        }
        p.wait_from = ctx_.now();
        fence_wait_ = fence;
        p.pc = UnitPc::FenceWait;
        break;
      }
      case UnitPc::FenceWait: {
        if (stores_completed_ < q.front().fence_stores) {
          unit_state_[unit] = UnitState::WaitFence;
          check_deadlock();
          if (ctx_.halted()) return;
          wait_for(kStoreDone);
          return;
        }
        const uint64_t waited = ctx_.now() - p.wait_from;
        ctx_.stats().stall_fence_cycles += waited;
        ctx_.layer(q.front().instr.layer).stall_fence_cycles += waited;
        p.token = 0;
        p.pc = UnitPc::Tokens;
        break;
      }
      case UnitPc::Tokens: {  // the head's pops, from the previous queue then from the next
        if (p.token == 2) {
          p.pc = UnitPc::Execute;
          break;
        }
        const Instr& head = q.front().instr;
        const int neighbour = p.token == 0 ? (head.pop_prev ? unit - 1 : -1) : (head.pop_next ? unit + 1 : -1);
        ++p.token;
        if (neighbour < 0) break;
        p.channel = channel(neighbour, unit);
        p.wait_from = ctx_.now();
        p.pc = UnitPc::TokenWait;
        break;
      }
      case UnitPc::TokenWait: {
        const int ch = p.channel;
        if (tokens_[ch] == 0) {
          unit_state_[unit] = UnitState::WaitToken;
          waiting_channel_[unit] = ch;
          check_deadlock();
          if (ctx_.halted()) return;
          wait_for(kToken + ch);
          return;
        }
        --tokens_[ch];
        const uint64_t waited = ctx_.now() - p.wait_from;
        ctx_.stats().stall_channel_cycles[ch] += waited;
        ctx_.layer(q.front().instr.layer).stall_channel_cycles[ch] += waited;
        if (Tracer* t = ctx_.tracer()) t->tokens(ch, tokens_[ch]);
        p.pc = UnitPc::Tokens;
        break;
      }
      case UnitPc::Execute: {
        // The entry is used in place from here: nothing can push into its slot or move the ring
        // before execute() returns; what is needed after its completion is copied out first.
        const InstrQueue::Entry& e = q.front();
        const uint64_t arrived = phase_start_[unit], start = ctx_.now();
        us.stall_token_cycles += start - arrived;
        ctx_.layer(e.instr.layer).stall_token_cycles[unit] += start - arrived;
        unit_state_[unit] = UnitState::Busy;
        phase_start_[unit] = start;
        q.pop();
        notify(kPopped + unit);
        trace_started(unit, e);
        const uint64_t done = execute(unit, e);
        if (ctx_.halted()) return;
        p.start = start;
        p.done = done;
        p.index = e.index;
        p.layer = e.instr.layer;
        p.push_prev = e.instr.push_prev != 0;
        p.push_next = e.instr.push_next != 0;
        p.pc = UnitPc::Complete;
        if (done > ctx_.now()) {
          wait_until(done);
          return;
        }
        break;
      }
      case UnitPc::Complete:
        account(unit, p);
        if (Tracer* t = ctx_.tracer()) t->finished(unit);
        give_tokens(unit, p);
        if (unit == kStoreUnit) {
          ++stores_completed_;
          notify(kStoreDone);
        }
        mark_[unit] = p.done;
        unit_state_[unit] = UnitState::WaitQueue;
        --pending_;
        notify(kDrained);
        p.pc = UnitPc::Top;
        break;
    }
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
  if (!ctx_.started() || ctx_.ended()) return;
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
