"""The engine: what turns a model and a prompt into a stream of frozen `Step` records.

`step` (the record, no torch), `limits` (settings and operator limits, no torch), `schedule` (pure rules),
`diffusion` (LLaDA's reverse process), `autoregressive`, `instrument`, `text` (ids and words), `runs`
(a prompt to a stream of growing `Trace`s). Nothing here imports `llada_demo.web`.
"""
