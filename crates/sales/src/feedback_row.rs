//! A feedback row as the feedback estimator reads it, borrowed from wherever
//! it is kept: an [`Obs`] of a [`Feedback`] record, or a row a case decodes
//! in place from the store's feedback chunks (millions per import: building
//! each as owned strings, only to read them once, was a large share of it).

use std::borrow::Cow;

use model::{Feedback, FeedbackRef};

use crate::Obs;

/// A feedback row the estimator can read.
pub trait FeedbackRow {
    /// Its record's fields.
    fn record(&self) -> FeedbackRef<'_>;
    /// Capture time of its evidence record (RFC 3339), when known: the
    /// observation time of a row that does not say its own.
    fn captured_at(&self) -> Option<&str>;
    /// Its row id: problems and a unit's sources name it, so it is only built
    /// for those.
    fn id(&self) -> Cow<'_, str>;
}

impl FeedbackRow for Obs<Feedback> {
    fn record(&self) -> FeedbackRef<'_> {
        self.record.borrowed()
    }

    fn captured_at(&self) -> Option<&str> {
        self.captured_at.as_deref()
    }

    fn id(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.id)
    }
}

impl<T: FeedbackRow + ?Sized> FeedbackRow for &T {
    fn record(&self) -> FeedbackRef<'_> {
        (**self).record()
    }

    fn captured_at(&self) -> Option<&str> {
        (**self).captured_at()
    }

    fn id(&self) -> Cow<'_, str> {
        (**self).id()
    }
}
