//! Fixtures: the accounts, robot users, work areas and workflow templates a server starts with.
//! They are administrator data, not part of the API, and come from a TOML file (or the built-in
//! demo set below).
use serde::Deserialize;
use std::path::Path;

/// The demo data: enough for the reference page's curl examples to work against localhost.
pub const DEMO: &str = include_str!("../fixtures/demo.toml");

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Fixtures {
    #[serde(default)]
    pub accounts: Vec<AccountFixture>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AccountFixture {
    pub name: String,
    #[serde(default)]
    pub users: Vec<UserFixture>,
    #[serde(default)]
    pub work_areas: Vec<WorkAreaFixture>,
    #[serde(default)]
    pub templates: Vec<TemplateFixture>,
}

/// A robot user. The password is only read here: the store keeps HA1 for the realm.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UserFixture {
    pub login: String,
    pub password: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WorkAreaFixture {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TemplateFixture {
    pub name: String,
    #[serde(default)]
    pub due_date_offset_days: i32,
    #[serde(default)]
    pub tasks: Vec<TaskFixture>,
    /// Asset type names, e.g. `feature_film`, `trailer`.
    #[serde(default)]
    pub assets: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TaskFixture {
    pub name: String,
    #[serde(default)]
    pub requires_duration: bool,
    pub responsible_email: Option<String>,
}

impl UserFixture {
    /// The Digest HA1 the store keeps instead of the password.
    pub fn ha1(&self, realm: &str) -> String {
        crate::http::digest::ha1_md5(&self.login, realm, &self.password)
    }
}

impl Fixtures {
    pub fn parse(text: &str) -> Result<Fixtures, String> {
        let fixtures: Fixtures = toml::from_str(text).map_err(|e| e.to_string())?;
        fixtures.check()?;
        Ok(fixtures)
    }

    pub fn from_file(path: &Path) -> Result<Fixtures, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read fixtures {}: {e}", path.display()))?;
        Fixtures::parse(&text).map_err(|e| format!("fixtures {}: {e}", path.display()))
    }

    pub fn demo() -> Fixtures {
        Fixtures::parse(DEMO).expect("the built-in demo fixtures are valid")
    }

    fn check(&self) -> Result<(), String> {
        for account in &self.accounts {
            if let Some(area) = account.work_areas.iter().find(|w| w.id <= 0) {
                return Err(format!("work area {} must have a positive id", area.id));
            }
            if let Some(user) = account.users.iter().find(|u| u.login.contains(':')) {
                return Err(format!("user login {:?} must not contain ':'", user.login));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_fixtures_have_the_reference_page_setup() {
        let demo = Fixtures::demo();
        let account = &demo.accounts[0];
        assert!(account.work_areas.iter().any(|w| w.id == 10));
        assert!(account
            .users
            .iter()
            .any(|u| u.login == "robot_user" && u.password == "password"));
        let basic = account
            .templates
            .iter()
            .find(|t| t.name == "Basic")
            .unwrap();
        assert_eq!(basic.due_date_offset_days, 0);
        assert!(!basic.tasks.is_empty() && !basic.assets.is_empty());
        assert!(account.templates.iter().any(|t| t.due_date_offset_days < 0));
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(Fixtures::parse("[[accounts]]\nname = \"A\"\ncolour = \"red\"\n").is_err());
    }
}
