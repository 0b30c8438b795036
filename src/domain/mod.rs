//! Rules with no I/O: the records the API talks about, their validation, and the statuses
//! derived from them.
pub mod attributes;
pub mod dates;
pub mod events;
pub mod job;
pub mod status;
pub mod subresources;

/// A robot user: authenticates with Digest and sees its own account's work areas only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub account_id: i64,
    pub login: String,
    /// The realm `ha1_md5` was computed for; a user of another realm cannot log in.
    pub realm: String,
    pub ha1_md5: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkArea {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
}

/// A workflow template as a job creation needs it (its tasks and assets are copied by the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub id: i64,
    pub name: String,
    pub due_date_offset_days: i32,
}

/// Messages of a failed validation, one per problem, each naming the attribute.
pub type ValidationErrors = Vec<String>;
