//! Cross-market vendor linking: which accounts on different markets one
//! operator runs, why each link is proposed, and how often such links are
//! wrong.
//!
//! Pure functions of their inputs: no I/O, no database, no clock.
//!
//! * [`Account`]: everything seen for one (market, vendor name), each fact
//!   with the row ids that show it. [`accounts_from_records`] builds them
//!   from store rows.
//! * Signals ([`SIGNALS`]), computed by [`Corpus::features`], each giving
//!   [`SignalEvidence`] (value in `[0, 1]`, detail, source rows):
//!   `pgp` (same fingerprint or subkey: **hard**), `pgp_uid` (user-id
//!   e-mails), `btc`, `contact` (Jabber, e-mail, Wickr...), `claimed`
//!   (ratings imported from another market naming the account), `name`
//!   (after normalization: case, leetspeak, separators, suffixes such as
//!   `_official`, trailing digits; discounted when several accounts of one
//!   market share the key or the name is generic), `style` (character
//!   3/4-gram TF-IDF cosine), `shipping`, `categories`, `timeline` (one
//!   account appears as the other disappears), `photo` (product photos whose
//!   perceptual hashes are at most [`PHOTO_MAX_BITS`] apart; pictures shown
//!   by several accounts of one market are stock photos and do not count).
//! * [`candidates`]: blocking on identifiers, name keys and claims, near
//!   photo hashes (exact band matches), plus MinHash/LSH on text shingles;
//!   never all pairs.
//! * [`Model`]: logistic regression trained on labelled pairs, stored as
//!   data (version, training-set hash, weights), with per-signal
//!   contributions. Hard identifiers are reported as such
//!   ([`Link::hard`]), and the score is still computed.
//! * [`Linker::link_all`]: links for review; [`operators`] groups accounts
//!   only along hard or analyst-confirmed links, never on soft evidence.
//! * [`evaluate`]: precision/recall/F1 per signal and combined, at several
//!   thresholds, with a reliability curve, on held-out truth only (accounts
//!   the model was trained on are left out).
//! * [`pgp_truth`], [`name_truth`], [`claims_truth`]: ground truth from
//!   real data (shared keys; name matches confirmed by the same shipping
//!   origin; market-verified claimed accounts), each naming the signals an
//!   evaluation must hide.
#![warn(missing_docs)]

mod account;
mod candidates;
mod eval;
pub mod export;
mod link;
mod model;
pub mod normalize;
mod signals;
pub mod text;
mod truth;
mod values;

pub use account::{account_id, accounts_from_records, days_of, parse_day, Account, Contact, ExternalClaim, Fact, Holder, PgpFact, identifier_holders};
pub use ::model::{Records, Row};
pub use candidates::{all_pairs, candidates, candidates_with_stats, CandidateStats, MAX_BLOCK};
pub use eval::{
    evaluate, labeled_pairs, split_by_operator, train_on, CalibrationBin, Evaluation, OperatorMap, Prf, ThresholdPrf,
};
pub use truth::{claims_truth, name_truth, pgp_truth, RealTruth};
pub use link::{link_all, link_id, operators, Decision, Link, LinkStatus, Linker};
pub use model::{
    training_hash, Contribution, LabeledPair, Model, Scored, TrainError, TrainOptions, DEFAULT_THRESHOLD, MODEL_VERSION,
};
pub use signals::{
    Corpus, SignalEvidence, BTC, CATEGORIES, CLAIMED, COMMON_IDENTIFIER, CONTACT, NAME, NAME_FUZZY_FLOOR,
    PGP, PGP_UID, PHOTO, PHOTO_MAX_BITS, SHIPPING, SIGNALS, STYLE, SUCCESSION_DAYS, TIMELINE,
};
