//! Typed ids of 好差评's records.

govhall_core::define_id!(
    /// An evaluation (评价) of a case.
    EvaluationId
);
govhall_core::define_id!(
    /// A department's task to answer a 差评 (整改).
    RectificationId
);
govhall_core::define_id!(
    /// A department's appeal (申诉) against an evaluation.
    AppealId
);
