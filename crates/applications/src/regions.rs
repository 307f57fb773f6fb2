//! The division codes (province, city, county) held in memory for the address fields: about
//! 3,500 rows, read once.

use crate::ApplicationError;
use govhall_catalog::form::RegionLookup;
use govhall_db::Db;
use govhall_identity::regions::Region;
use std::collections::BTreeMap;

/// The divisions by code.
#[derive(Debug, Default)]
pub struct Regions {
    by_code: BTreeMap<String, Region>,
}

impl Regions {
    /// Reads every division.
    pub async fn load(db: &Db) -> Result<Regions, ApplicationError> {
        let all = govhall_identity::regions::all(db).await?;
        Ok(Regions { by_code: all.into_iter().map(|r| (r.code.clone(), r)).collect() })
    }

    /// The divisions under `parent` (provinces when `None`), by code.
    pub fn children(&self, parent: Option<&str>) -> Vec<&Region> {
        self.by_code.values().filter(|r| r.parent_code.as_deref() == parent).collect()
    }
}

impl RegionLookup for Regions {
    fn region(&self, code: &str) -> Option<(String, Option<String>)> {
        self.by_code.get(code).map(|r| (r.full_name.clone(), r.parent_code.clone()))
    }
}
