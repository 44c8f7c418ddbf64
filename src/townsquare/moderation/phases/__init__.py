"""One module per moderation phase. Each phase is a pure function
`(draft, facts, settings) -> PhaseResult`; `townsquare.moderation.pipeline` orders them."""
