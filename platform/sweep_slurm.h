// The Slurm executor of `fusesim sweep`: a sweep becomes one Slurm job array whose tasks each
// run a chunk of points (`fusesim sweep-task`) into their own shard on the shared filesystem;
// `fusesim sweep-status` follows the array and merges the shards into results.{jsonl,csv}.
//
// DIR (absolute, on a filesystem every node sees):
//   sweep.sbatch         the batch script; its argument is the submission round
//   points.jsonl, .idx   the plan: one point a line, and fixed-width byte offsets into it
//   tasks/R.txt          round R's task table: line T = the plan ordinals array task T runs
//   submissions.tsv      one line per sbatch: round, job id, tasks, points, spec, command
//   shards/R_T.jsonl     rows of round R's array task T (the results store, without CSV)
//   logs/J_T.out         each array task's stdout and stderr
//   results.jsonl, .csv  the merge of every shard, one row per point id, in plan order
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "sweep_spec.h"
#include "sweep_store.h"

namespace fusesim::sweep {

struct SlurmOptions {
  std::string partition, time_limit;
  std::size_t chunk = 0;     // points per array task; 0: the fewest tasks of at most 1000
  unsigned max_running = 0;  // array throttle (%M); 0: none
  std::vector<std::string> sbatch_args;
  double timeout_s = 0;  // per point, as for the local executor
  bool resume = false, wait = false, dry_run = false;
};

// `fusesim sweep SPEC --executor slurm --out DIR ...`. Exit 2 without writing into DIR when
// Slurm is not reachable.
int slurm_sweep(const std::string& spec_path, const SweepSpec& spec, const Expansion& ex,
                const std::string& out, const SlurmOptions& opt);
int sweep_task_main(const std::vector<std::string>& args);    // `fusesim sweep-task DIR --round R --task T`
int sweep_status_main(const std::vector<std::string>& args);  // `fusesim sweep-status DIR [--wait]`

// Sorted ordinals as "0-99 120 130-131", and back (throws std::runtime_error when malformed).
std::string encode_ranges(const std::vector<std::size_t>& sorted);
std::vector<std::size_t> decode_ranges(const std::string& text);

// A point as one plan line and back.
Row point_row(const Point& p);
Point point_from_row(const Row& row);

// The task table: `ordinals` cut into lines of at most `chunk`.
std::string task_table(const std::vector<std::size_t>& ordinals, std::size_t chunk);

// Writes the plan (points.jsonl and points.idx) into DIR.
void write_plan(const std::string& dir, const std::vector<Point>& points);
// The plan's points at `ordinals`, read by offset (an array task reads only its own lines).
std::vector<Point> read_plan_points(const std::string& dir, const std::vector<std::size_t>& ordinals);
// The plan's point ids in order, and the first point's parameters (the results columns).
struct PlanIndex {
  std::vector<std::string> ids;
  std::vector<Param> params;
};
PlanIndex read_plan_index(const std::string& dir);

// Folds DIR/shards/*.jsonl into DIR/results.jsonl and results.csv: complete rows only, one per
// point id of the plan (the first in round, task, line order), in plan order; both files are
// replaced atomically, so merging is idempotent and a crash leaves the old or the new files.
std::vector<Row> merge_shards(const std::string& dir);

}  // namespace fusesim::sweep
