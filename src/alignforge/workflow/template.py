"""``alignforge workflow init dpo | rlvr``: seed 001's DPO workflow or seed 002's RLVR run as a file
with every key commented.

Paths are relative to the file; the defaults point at the repository's examples/, so the file runs
as written from the repository root. Stage 5 (``dpo:``) is the seed's ``dpo_config.yaml`` shape,
read by the same loader as ``alignforge train dpo --config``.
"""

from __future__ import annotations

__all__ = ["dpo_template", "rlvr_template"]

_DPO = """\
# alignforge workflow: seed 001's seven-stage DPO workflow as one resumable, gated run.
#   alignforge workflow run THIS_FILE --run-dir runs/exp1     # does what is not done yet; kill -9 safe
#   alignforge workflow status runs/exp1 [--json]
#   alignforge workflow report runs/exp1 --html dashboard.html
# Relative paths are relative to this file. A key left out takes the default shown.
workflow: dpo                      # the workflow this file describes: dpo (or `stages` for a plain list of stages)
executor: local                    # where the data stages run: local (this process) | ray (Ray tasks; RAY_ADDRESS for a cluster)
launcher:                          # how the training stages run
  type: none                       # none (this process) | accelerate (`accelerate launch --num_processes N -m alignforge train ...`)
  num_processes: 1                 # processes for accelerate launch (one per GPU)
  extra_args: []                   # more accelerate launch arguments, e.g. [--mixed_precision, bf16]
model: embedded                    # the starting model: embedded (SmolLM2-135M-Instruct), a model folder, or a Hub id
benchmark_dir: null                # benchmark folder for decontamination and evaluation (null: alignforge's default folder)

# Stage 1: SFT preparation -- 90/10 split, SFT training, baseline evaluation (stage 7's suites on the SFT model).
sft:
  data: examples/data/sft_train.jsonl   # SFT rows (messages, or prompt + completion)
  validation: 0.1                  # share of prompts held out for validation (90/10)
  seed: 0                          # salt of the split's prompt hash
  sft_checkpoint: null             # an SFT model folder: skips the split and SFT training and starts from it
  train:                           # `alignforge train sft` config sections; the workflow sets model.base_model,
    model:                         #   data.train_file / validation_file and logging.output_dir
      lora: {r: 8, alpha: 16, dropout: 0.0}   # LoRA (merged into a plain checkpoint after training); remove for full fine-tuning
    data: {max_length: 256}        # prompt + completion tokens per row
    training: {learning_rate: 2.0e-4, batch_size: 4, max_steps: 20, logging_steps: 5}   # optimizer steps, per-device batch
    compute: {precision: auto}     # bf16 on CUDA, fp32 on CPU
    logging: {report_to: none}     # tensorboard | wandb | mlflow | none

# Stage 2: preference data -- generate -> judge -> dedup -> decontaminate -> check (pair gates) -> 80/20 split.
preference:
  prompts: examples/prompts.jsonl  # prompts for generation ({"prompt": ...} rows)
  generate:                        # generate.dpo parameters (alignforge generate dpo --help)
    strategy: flaw                 # flaw | strong-weak | reference | temperature | best-of-n
    model: local                   # generator: local (embedded), local:/path, openai:..., anthropic:...
    judge_model: local             # scores chosen and rejected on 0-10
    n: 1000                        # pairs to keep (quota); limit: N reads only the first N prompts
    chosen_threshold: 9.0          # chosen >= 9.0 on the judge's 0-10 scale
    rejected_threshold: 6.0        # rejected <= 6.0
    gap_threshold: 3.0             # chosen - rejected >= 3.0
  judge: null                      # a second judge pass (judge stage parameters, e.g. {model: openai:gpt-4o}); null: skip
  dedup: {near: null}              # near: MinHash Jaccard threshold for near duplicates (null: exact only)
  decontaminate:                   # decontaminate stage parameters
    against: [humaneval, mbpp, gsm8k, math500, truthfulqa]   # benchmarks checked for n-gram overlap
    n: 8                           # n-gram length
  gates: null                      # pair gates: a gates file or mapping (`alignforge gates init` shape); null: the defaults
  gates_stage: preference_data     # the gates file's stage read for the pairs
  validation: 0.2                  # 80/20 split by prompt
  seed: 0                          # salt of the split's prompt hash

# Stage 3: model initialisation -- frozen reference, policy as a copy, tokenizer and architecture match,
# and before any update: initial KL ~ 0, DPO loss ~ ln 2, implicit rewards ~ 0 on the validation pairs.
init_check:
  beta: 0.1                        # the DPO beta used to compute the initial loss and rewards
  max_pairs: 64                    # validation pairs measured
  kl_prompts: 16                   # prompts sampled for the initial KL
  max_new_tokens: 32               # tokens sampled per KL prompt
  kl_max: 0.01                     # gate: initial KL (nats/token) <= this
  loss_tol: 0.02                   # gate: |DPO loss - ln 2| <= this
  reward_tol: 0.02                 # gate: mean |implicit reward| <= this

# Stage 4 (optional): a reward model with its gates (accuracy >= 70 %, train/validation gap < 10 %).
reward_model: null                 # or {train: {<train reward config sections>, constraints: {rm_accuracy_target: 0.7, rm_gap_max: 0.1}},
                                   #     filter: true}: filter drops the training pairs the reward model ranks the other way

# Stage 5: DPO -- the seed's dpo_config.yaml shape (alignforge train dpo --config). The workflow sets
# model.base_model (the SFT model), data.train_file / validation_file (stage 2) and logging.output_dir.
dpo:
  model:                           # the policy (the workflow sets base_model to the SFT model)
    lora: {r: 8, alpha: 16, dropout: 0.0}   # the reference is the SFT model (the adapters switched off)
  data:                            # the workflow sets train_file / validation_file (stage 2's split)
    max_length: 256                # prompt + completion tokens (the seed's max_prompt_length / max_response_length also load)
  training:                        # TRL DPOConfig settings, the seed's names
    learning_rate: 5.0e-5          # the seed's 1e-6 is for 7B full fine-tuning; LoRA needs more
    beta: 0.1                      # KL penalty strength
    batch_size: 4                  # per device
    gradient_accumulation_steps: 1 # effective batch = batch_size x this x processes
    max_steps: 20                  # optimizer steps (-1: num_epochs)
    warmup_steps: 2                # a value < 1 is a ratio of max_steps
    logging_steps: 5               # log every N steps
  optimization: {optimizer: adamw, weight_decay: 0.01, max_grad_norm: 1.0, lr_scheduler: cosine}   # the seed's optimizer block
  constraints:                     # the DPO gates
    kl_target: 0.1                 # gate: KL(policy || reference) <= 0.1 nats/token on policy samples
    preference_gap_target: 0.15    # gate: implicit reward margin on validation pairs >= 0.15
    on_fail: stop                  # stop: a failed gate stops the workflow | flag: record it and go on
  compute: {precision: auto, device: auto, gradient_checkpointing: false}   # bf16 on CUDA, fp32 on CPU; device auto | cuda | cpu
  monitors: {kl_prompts: 6, kl_max_new_tokens: 24}   # prompts and tokens the KL monitor samples
  logging: {report_to: none}       # tensorboard | wandb (wandb_project) | mlflow | none

# Stage 6: iterative rounds -- round N+1 samples several answers per fresh prompt from round N's policy,
# pairs the judge's best and worst through the same pair gates, trains DPO from round N (reference: the
# SFT model; full fine-tuning, since a LoRA's reference would be its own base) and is compared with round N.
rounds:
  count: 0                         # rounds after stage 5's DPO (round 1); 0: none
  prompts: examples/prompts.jsonl  # fresh prompts: round N+1 takes the next prompts_per_round rows
  prompts_per_round: 8             # fresh prompts each round
  samples_per_prompt: 4            # answers sampled per prompt (best-of-n)
  min_gain: 0.0                    # stop when the validation margin gains less than this over the previous round
  judge_model: null                # judge of the samples (null: preference.generate.judge_model)
  max_tokens: null                 # tokens per sampled answer (null: generate's max_tokens)

# Stage 7: evaluation of the best checkpoint against the baseline (the SFT model), and the decision.
evaluation:
  suites:                          # humaneval | mbpp (pass@1) | gsm8k | math500 (accuracy) | arc_challenge | truthfulqa_mc1 | mmlu (log-likelihood)
    - {name: gsm8k, limit: 50}     # limit: items scored (null: all)
    - {name: arc_challenge, limit: 50}   # multiple choice, acc_norm
  max_new_tokens: 256              # tokens generated per item (generative suites)
  seed: 0                          # sampling seed
  prompts: examples/prompts.jsonl  # held-out prompts for the win rate (use prompts not trained on)
  judge: local                     # pairwise judge; each pair is judged in both orders
  winrate_limit: null              # prompts judged (null: all)
  winrate_max_new_tokens: 256      # tokens per answer compared
  thresholds:                      # seed 001's EVALUATION_CONFIG
    quality_thresholds:            # the seed's quality_thresholds
      kl_divergence: {max: 0.1}    # nats/token, from the best checkpoint's training_metrics.json
      preference_gap: {min: 0.15}  # implicit reward margin on validation pairs
      capability_retention: {min: 0.95}   # worst suite's tuned / baseline score
      decontamination: {min: 0.9}  # share of pairs with no benchmark overlap
    capability_benchmarks:         # the tuned score must reach each suite's baseline_threshold
      gsm8k: {baseline_threshold: 0.30}   # the seed's GSM8K floor
    win_rate: {gt: 0.5}            # win rate over the baseline must exceed 50 %
"""


def dpo_template() -> str:
    """The commented DPO workflow file."""
    return _DPO


_RLVR = """\
# alignforge workflow: seed 002's RLVR run -- prepare -> (generate) -> verify the references -> RAFT
# cycles -> benchmark every cycle's checkpoint (pass@k per cycle) -- as one resumable, gated run.
#   alignforge workflow run THIS_FILE --run-dir runs/rlvr1    # does what is not done yet; kill -9 safe
#   alignforge workflow status runs/rlvr1 [--json]
#   alignforge workflow report runs/rlvr1 --html dashboard.html   # pass@k per cycle: table and plot
# Relative paths are relative to this file. A key left out takes the default shown.
workflow: rlvr                     # the workflow this file describes: rlvr (or dpo, or stages)
executor: local                    # where the data stages run: local | ray
launcher: {type: none}             # how RAFT runs: none (this process) | accelerate ({type, num_processes, extra_args})
model:                             # 002's model section: the base model
  name: embedded                   # embedded (SmolLM2-135M-Instruct), a model folder, or a Hub id (002: Qwen/Qwen2.5-Coder-7B)
  lora: null                       # {r: 16, alpha: 32, dropout: 0.05}: LoRA per cycle, merged into each cycle's checkpoint
benchmark_dir: null                # the benchmarks folder (<dir>/humaneval, /mbpp, /gsm8k, /math500); null: alignforge's default

# 002's prepare_rlvr_datasets.py: each dataset into RUN_DIR/data as <split>_prompts/_full/_solutions.jsonl
# (humaneval; mbpp, mbpp_train, mbpp_sanitized; gsm8k, gsm8k_train; math500) and <name>_validation.jsonl.
prepare:
  datasets: [mbpp, humaneval]      # humaneval | mbpp | gsm8k | math500 ([]: only your own task files)
  validation_size: 20              # tasks in <name>_validation.jsonl
  strengthen: false                # add plus_tests (mutation-guided) to code tasks

generate: null                     # generate.rlvr parameters: {domain: code, n: 100, seed: 0} or {mix: "40/30/20/10", n: 100};
                                   #   the tasks are the split `generated`

# The training tasks (002's data section). prompts: a prepared split (mbpp_train, humaneval, humaneval_validation,
# gsm8k_train, ...), `generated`, a task file, or a list of these (concatenated). Every task's reference
# solution runs against its own tests first (the verifiability gate, below).
data:
  prompts: mbpp_train              # 002's production run trains on MBPP's train split
  tests: null                      # 002's full file: tests joined to the prompts by task_id (null: the prompts carry them)
  limit: null                      # the first N tasks (null: all)
  task_ids: null                   # or exactly these tasks, in this order
  validation: null                 # RAFT's own pass@k after each cycle (null: the benchmark tasks)

references:                        # the verifiability gate on the training and the benchmark tasks
  on_fail: drop                    # drop: tasks whose reference fails go to tasks/<set>.dropped.jsonl | stop: any failure stops the run
  min_verifiability: null          # share of tasks whose reference passes (null: seed 000's math 0.95, code 0.90, finance 0.85, general 0.80)
  timeout_s: 10.0                  # per reference run in the sandbox

raft:                              # 002's raft section (train raft)
  cycles: 5                        # RAFT cycles: sample -> verify -> keep the passing -> SFT on them
  samples_per_prompt: 8            # samples per training prompt each cycle
  temperature: 0.7                 # sampling temperature
  max_new_tokens: 256              # tokens per sample
  keep_per_prompt: null            # most kept samples per prompt (null: all that pass)
  eval_samples: 10                 # RAFT's own pass@k after each cycle (on data.validation)
  pass_k: [1, 5, 10]               # the k of RAFT's own pass@k
  prompt_format: chat              # chat: asked as the benchmark asks, in the chat template | raw: the task's prompt as written
verifier:                          # 002's verifier section: the reward (null: code tests for code tasks, math for math,
                                   #   verified for mixed or finance / general tasks)
  type: rlvr_pytest                # rlvr_pytest (the task's tests in alignforge's sandbox) | math | exact_match | verified (each row by its domain)
  timeout: 30                      # seconds per sample's test run
checkpointing:
  save_every_cycle: true           # keep every cycle's weights (RUN_DIR/raft/cycle_<k>): the benchmark reads them
train:                             # the rest of the `alignforge train raft` config (the workflow sets model.base_model,
  training: {learning_rate: 1.0e-5, batch_size: 4, max_steps: -1, num_epochs: 1}   #   data files and output_dir)
  compute: {precision: auto}       # bf16 on CUDA, fp32 on CPU
  constraints: {on_fail: flag}     # stop: a failed RAFT gate stops the workflow | flag: record it and go on

# 002's benchmark.yaml: every checkpoint (the base and each cycle) x samples_per_problem x k_values.
benchmark:
  prompts: humaneval               # the benchmark tasks: a prepared split or a task file (002: humaneval_full.jsonl)
  tests: null                      # a full file joined by task_id, as data.tests
  limit: null                      # the first N problems (null: all)
  task_ids: null                   # or exactly these problems
  samples_per_problem: 10          # samples per problem per checkpoint
  k_values: [1, 5, 10]             # pass@k reported (unbiased estimator; k <= samples_per_problem)
  temperature: 0.8                 # sampling temperature of the benchmark
  max_tokens: 384                  # tokens per sample
  timeout_s: 5.0                   # per sample's test run
  base: true                       # benchmark the base model too (the deltas and the pass@1 gate need it)
  cycles: all                      # all | a list, e.g. [1, 3, 5] (002's cycle_1, cycle_3, cycle_5)

gates:                             # on the pass@k table
  max_pass1_drop: 0.0              # every cycle's pass@1 >= the base's pass@1 - this
  min_pass_at_k: {}                # e.g. {1: 0.3, 10: 0.6}: the last checkpoint's pass@k floors
  on_fail: stop                    # stop: a failed gate stops the run (exit 1) | flag: record it; the decision says no
"""


def rlvr_template() -> str:
    """The commented RLVR workflow file."""
    return _RLVR
