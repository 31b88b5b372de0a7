//! The usage model: aggregates only, never events.

use crate::day::Day;
use crate::identity::{IdentityKey, Principal};
use litemap::LiteMap;
use smallvec::SmallVec;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

/// Distinct resources kept per (identity, permission); more are counted as
/// truncation on the days they were seen, not stored.
pub const MAX_RESOURCES_PER_PERMISSION: usize = 64;
/// Distinct unknown actions named in a source's tally; the rest are
/// counted under `(other)`.
pub const MAX_UNKNOWN_ACTIONS: usize = 256;

/// A kind of activity log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    CloudTrail,
    GcpAudit,
    AzureActivity,
    /// Kubernetes audit events, including AKS `kube-audit` diagnostics and
    /// GKE `k8s.io` Cloud Audit Logs.
    KubernetesAudit,
}

impl Source {
    pub const ALL: [Source; 4] = [
        Source::CloudTrail,
        Source::GcpAudit,
        Source::AzureActivity,
        Source::KubernetesAudit,
    ];

    /// `cloudtrail`, `gcp-audit`, `azure-activity`, `k8s-audit`.
    pub fn id(self) -> &'static str {
        match self {
            Source::CloudTrail => "cloudtrail",
            Source::GcpAudit => "gcp-audit",
            Source::AzureActivity => "azure-activity",
            Source::KubernetesAudit => "k8s-audit",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::CloudTrail => "CloudTrail",
            Source::GcpAudit => "GCP Cloud Audit",
            Source::AzureActivity => "Azure Activity",
            Source::KubernetesAudit => "Kubernetes audit",
        })
    }
}

/// What became of every record of one source. Each record is counted in
/// exactly one of `used`, `not_use`, `unattributable`, `unknown_action`
/// and `malformed`, so they sum to `records`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// Records recognised as this source.
    pub records: u64,
    /// Records that landed in the usage of an identity.
    pub used: u64,
    /// Records that are not a use, by reason: `denied`, `unauthenticated`,
    /// `stage-not-final`, `stage-missing`, `console-sign-in`,
    /// `service-event`, `vpc-endpoint-event`, `not-an-api-call`,
    /// `aws-service`, `credential-issue`, `not-administrative`.
    pub not_use: BTreeMap<&'static str, u64>,
    /// Uses no principal could be read for.
    pub unattributable: u64,
    /// Uses whose permission could not be told (an AWS action outside the
    /// catalogue, a GCP record without `authorizationInfo`, …).
    pub unknown_action: u64,
    /// Records of this source missing what every record must have
    /// (timestamp, event name, verb, …).
    pub malformed: u64,
    /// The unknown actions, with how often each was seen.
    pub unknown_actions: BTreeMap<String, u64>,
}

impl SourceStats {
    pub fn not_use_total(&self) -> u64 {
        self.not_use.values().sum()
    }
}

/// One permission's observed use by an identity within a window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionUsage {
    /// UTC days it was used on.
    pub days: BTreeSet<Day>,
    /// How many records used it.
    pub calls: u64,
    /// Resources it was used on (at most [`MAX_RESOURCES_PER_PERMISSION`]
    /// per identity and permission are kept).
    pub resources: BTreeSet<String>,
    /// Whether more resources were seen in the window than were kept.
    pub resources_truncated: bool,
}

/// What an identity was observed doing in a window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedUsage {
    /// Permission (`s3:GetObject`, `storage.objects.get`,
    /// `microsoft.storage/storageaccounts/listkeys/action`, `pods/exec:create`)
    /// -> its use.
    pub permissions: BTreeMap<String, PermissionUsage>,
}

impl ObservedUsage {
    pub fn is_empty(&self) -> bool {
        self.permissions.is_empty()
    }

    /// The days any permission was used on.
    pub fn days(&self) -> BTreeSet<Day> {
        self.permissions
            .values()
            .flat_map(|p| p.days.iter().copied())
            .collect()
    }

    pub fn permission(&self, permission: &str) -> Option<&PermissionUsage> {
        self.permissions.get(permission)
    }
}

/// A permission or resource name in the model: stored once, however many
/// identities and role sessions use it (see [`Names`]), so that a new
/// session copies no text and lookups compare text that is in cache.
pub(crate) type Name = Arc<str>;

/// Every name the model holds, each once.
#[derive(Debug, Default)]
pub(crate) struct Names(foldhash::HashSet<Name>);

impl Names {
    /// The stored name equal to `text`, stored first if new.
    pub(crate) fn get(&mut self, text: &str) -> Name {
        if let Some(name) = self.0.get(text) {
            return name.clone();
        }
        let name: Name = Arc::from(text);
        self.0.insert(name.clone());
        name
    }
}

/// Days in order, each once: a resource is mostly seen on one or two
/// days of a session, so they are held inline.
type Days = SmallVec<[Day; 2]>;

fn insert_day(days: &mut Days, day: Day) {
    if let Err(at) = days.binary_search(&day) {
        days.insert(at, day);
    }
}

/// Whether any of `days` (in order) is in `[start, end)`.
fn any_within(days: &[Day], start: Day, end: Day) -> bool {
    let from = days.partition_point(|day| *day < start);
    days.get(from).is_some_and(|day| *day < end)
}

/// One (identity, permission) aggregate. Flat and small: a role session
/// has one per permission it used, and a month of logs holds thousands
/// of sessions until they are tied to workloads.
#[derive(Debug, Clone, Default)]
pub(crate) struct PermissionRecord {
    /// (Day, records), in day order.
    days: SmallVec<[(Day, u64); 1]>,
    /// Resource -> days it was seen on.
    resources: LiteMap<Name, Days>,
    /// Days on which a resource was seen that did not fit.
    dropped: Days,
}

impl PermissionRecord {
    /// `calls` records on `day`, on `resources` (looked up as they are,
    /// stored through `names` only when new).
    pub(crate) fn add<'r>(
        &mut self,
        day: Day,
        calls: u64,
        resources: impl IntoIterator<Item = Cow<'r, str>>,
        names: &mut Names,
    ) {
        self.add_calls(day, calls);
        for resource in resources {
            self.add_resource(&resource, || names.get(&resource), smallvec::smallvec![day]);
        }
    }

    /// `days` (in order) of `resource`, looked up as it stands and stored
    /// as `stored()` only when new; past the bound, its days are counted as
    /// dropped.
    fn add_resource(&mut self, resource: &str, stored: impl FnOnce() -> Name, days: Days) {
        if let Some(seen) = self.resources.get_mut(resource) {
            days.into_iter().for_each(|day| insert_day(seen, day));
        } else if self.resources.len() < MAX_RESOURCES_PER_PERMISSION {
            self.resources.insert(stored(), days);
        } else {
            days.into_iter()
                .for_each(|day| insert_day(&mut self.dropped, day));
        }
    }

    fn add_calls(&mut self, day: Day, calls: u64) {
        match self.days.binary_search_by_key(&day, |(day, _)| *day) {
            Ok(at) => {
                if let Some((_, count)) = self.days.get_mut(at) {
                    *count += calls;
                }
            }
            Err(at) => self.days.insert(at, (day, calls)),
        }
    }

    pub(crate) fn merge(&mut self, other: PermissionRecord) {
        for (day, calls) in other.days {
            self.add_calls(day, calls);
        }
        for (resource, days) in other.resources {
            self.add_resource(&resource.clone(), || resource, days);
        }
        for day in other.dropped {
            insert_day(&mut self.dropped, day);
        }
    }

    fn window(&self, start: Day, end: Day, into: &mut PermissionUsage) -> bool {
        let from = self.days.partition_point(|(day, _)| *day < start);
        let mut any = false;
        for (day, calls) in self
            .days
            .iter()
            .skip(from)
            .take_while(|(day, _)| *day < end)
        {
            into.days.insert(*day);
            into.calls += calls;
            any = true;
        }
        if any {
            for (resource, days) in self.resources.iter() {
                if any_within(days, start, end) {
                    into.resources.insert(resource.to_string());
                }
            }
            into.resources_truncated |= any_within(&self.dropped, start, end);
        }
        any
    }
}

/// Permission -> aggregate.
pub(crate) type Permissions = LiteMap<Name, PermissionRecord>;

pub(crate) fn merge_permissions(into: &mut Permissions, from: Permissions) {
    for (permission, record) in from {
        into.entry(permission).or_default().merge(record);
    }
}

/// What was observed, aggregated per identity, permission and UTC day.
///
/// Its size grows with the number of distinct (identity, permission, day)
/// tuples and (bounded) resources, never with the number of events.
#[derive(Debug, Clone)]
pub struct UsageModel {
    pub(crate) usage: BTreeMap<IdentityKey, Permissions>,
    pub(crate) log_days: BTreeMap<Source, BTreeSet<Day>>,
    pub(crate) stats: BTreeMap<Source, SourceStats>,
    pub(crate) aliases: BTreeMap<Principal, BTreeSet<String>>,
    pub(crate) unrecognised: u64,
    pub(crate) invalid: u64,
    pub(crate) files_read: u64,
}

impl Default for UsageModel {
    fn default() -> Self {
        UsageModel {
            usage: BTreeMap::new(),
            log_days: Source::ALL.iter().map(|s| (*s, BTreeSet::new())).collect(),
            stats: Source::ALL
                .iter()
                .map(|s| (*s, SourceStats::default()))
                .collect(),
            aliases: BTreeMap::new(),
            unrecognised: 0,
            invalid: 0,
            files_read: 0,
        }
    }
}

impl UsageModel {
    /// Permissions exercised by `identity` on each UTC day in
    /// `[start_day, end_day)`: by the identity itself and by every narrowing
    /// of it ([`IdentityKey::covers`]). Asking for a role alone gives
    /// everything the role did, whoever it was tied to; asking for the role
    /// narrowed to a service account gives only what was tied to that
    /// account. See [`UsageModel::usage_exact`] for one key only.
    pub fn usage(&self, identity: &IdentityKey, start_day: Day, end_day: Day) -> ObservedUsage {
        self.collect(start_day, end_day, |key| identity.covers(key), identity)
    }

    /// Like [`UsageModel::usage`], for exactly this key: a role alone then
    /// gives only the calls that could not be tied to a workload.
    pub fn usage_exact(
        &self,
        identity: &IdentityKey,
        start_day: Day,
        end_day: Day,
    ) -> ObservedUsage {
        self.collect(start_day, end_day, |key| key == identity, identity)
    }

    fn collect(
        &self,
        start: Day,
        end: Day,
        wanted: impl Fn(&IdentityKey) -> bool,
        identity: &IdentityKey,
    ) -> ObservedUsage {
        let mut out = ObservedUsage::default();
        // Keys of one principal are contiguous, the unnarrowed one first.
        let first = IdentityKey::new(identity.principal.clone());
        for (_, permissions) in self
            .usage
            .range(first..)
            .take_while(|(key, _)| key.principal == identity.principal)
            .filter(|(key, _)| wanted(key))
        {
            for (permission, record) in permissions.iter() {
                let mut usage = out.permissions.remove(&**permission).unwrap_or_default();
                if record.window(start, end, &mut usage) || !usage.days.is_empty() {
                    out.permissions.insert(permission.to_string(), usage);
                }
            }
        }
        out
    }

    /// Days on which records of `source` were present at all (any record
    /// with a readable timestamp, used or not).
    pub fn log_days(&self, source: Source) -> BTreeSet<Day> {
        self.log_days.get(&source).cloned().unwrap_or_default()
    }

    /// Every identity with observed use, in order.
    pub fn identities(&self) -> impl Iterator<Item = &IdentityKey> {
        self.usage.keys()
    }

    /// What became of the records of `source`.
    pub fn stats(&self, source: Source) -> SourceStats {
        self.stats.get(&source).cloned().unwrap_or_default()
    }

    /// Records recognised as none of the four sources.
    pub fn unrecognised(&self) -> u64 {
        self.unrecognised
    }

    /// Stretches of input that were not valid JSON (each reported with its lines).
    pub fn invalid_json(&self) -> u64 {
        self.invalid
    }

    pub fn files_read(&self) -> u64 {
        self.files_read
    }

    /// Other names seen for an Azure principal: `appid:…`, `xms_mirid:…`
    /// (managed identity resource id), `caller:…`.
    pub fn aliases(&self, principal: &Principal) -> impl Iterator<Item = &str> {
        self.aliases
            .get(principal)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// How many (identity, permission, day) tuples are stored: the size
    /// of the model, independent of how many events produced it.
    pub fn stored_tuples(&self) -> usize {
        self.usage
            .values()
            .flat_map(|p| p.iter().map(|(_, record)| record))
            .map(|r| r.days.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: i32) -> Day {
        Day::from_days_since_epoch(n)
    }

    fn usage(record: &PermissionRecord, start: i32, end: i32) -> Option<PermissionUsage> {
        let mut usage = PermissionUsage::default();
        record
            .window(day(start), day(end), &mut usage)
            .then_some(usage)
    }

    fn resources(names: &[&'static str]) -> Vec<Cow<'static, str>> {
        names.iter().map(|name| Cow::Borrowed(*name)).collect()
    }

    #[test]
    fn a_name_is_stored_once() {
        let mut names = Names::default();
        let first = names.get("s3:GetObject");
        let again = names.get(&String::from("s3:GetObject"));
        assert!(Arc::ptr_eq(&first, &again));
        assert!(!Arc::ptr_eq(&first, &names.get("s3:PutObject")));
    }

    #[test]
    fn a_window_holds_the_days_calls_and_resources_within_it() {
        let mut names = Names::default();
        let mut record = PermissionRecord::default();
        // Out of order, as files of several sources come.
        record.add(day(5), 1, resources(&["b"]), &mut names);
        record.add(day(1), 2, resources(&["a", "b"]), &mut names);
        record.add(day(5), 3, resources(&[]), &mut names);
        record.add(day(9), 1, resources(&["c"]), &mut names);

        let all = usage(&record, 0, 10).unwrap();
        assert_eq!(all.days, [day(1), day(5), day(9)].into());
        assert_eq!(all.calls, 7);
        assert_eq!(all.resources, ["a", "b", "c"].map(String::from).into());
        assert!(!all.resources_truncated);

        let middle = usage(&record, 2, 9).unwrap();
        assert_eq!(middle.days, [day(5)].into());
        assert_eq!(middle.calls, 4);
        assert_eq!(middle.resources, ["b"].map(String::from).into());

        assert_eq!(usage(&record, 6, 9), None);
        assert_eq!(usage(&record, 10, 20), None);
    }

    #[test]
    fn resources_past_the_bound_mark_their_days_truncated() {
        let mut names = Names::default();
        let mut record = PermissionRecord::default();
        let kept: Vec<String> = (0..MAX_RESOURCES_PER_PERMISSION)
            .map(|n| format!("arn:aws:s3:::b/{n:03}"))
            .collect();
        for name in &kept {
            record.add(day(1), 1, [Cow::Borrowed(name.as_str())], &mut names);
        }
        record.add(day(3), 1, resources(&["arn:aws:s3:::b/zz"]), &mut names);
        // A kept resource seen again is still counted on its new day.
        record.add(day(4), 1, [Cow::Borrowed(kept[0].as_str())], &mut names);

        let first = usage(&record, 1, 2).unwrap();
        assert_eq!(first.resources.len(), MAX_RESOURCES_PER_PERMISSION);
        assert!(!first.resources_truncated);
        let third = usage(&record, 3, 4).unwrap();
        assert!(third.resources.is_empty());
        assert!(third.resources_truncated);
        let fourth = usage(&record, 4, 5).unwrap();
        assert_eq!(fourth.resources, [kept[0].clone()].into());
        assert!(!fourth.resources_truncated);
    }

    #[test]
    fn merged_records_add_up_within_the_bound() {
        let mut names = Names::default();
        let mut into = PermissionRecord::default();
        into.add(day(1), 2, resources(&["a"]), &mut names);
        let mut other = PermissionRecord::default();
        other.add(day(1), 1, resources(&["a", "b"]), &mut names);
        other.add(day(2), 5, resources(&["a"]), &mut names);
        into.merge(other);

        let all = usage(&into, 0, 10).unwrap();
        assert_eq!(all.days, [day(1), day(2)].into());
        assert_eq!(all.calls, 8);
        assert_eq!(all.resources, ["a", "b"].map(String::from).into());
        let second = usage(&into, 2, 3).unwrap();
        assert_eq!(second.resources, ["a"].map(String::from).into());

        // Merging into a full record drops what does not fit, by day.
        let mut full = PermissionRecord::default();
        let kept: Vec<String> = (0..MAX_RESOURCES_PER_PERMISSION)
            .map(|n| format!("r{n:03}"))
            .collect();
        for name in &kept {
            full.add(day(1), 1, [Cow::Borrowed(name.as_str())], &mut names);
        }
        let mut late = PermissionRecord::default();
        late.add(day(7), 1, resources(&["z"]), &mut names);
        full.merge(late);
        let seventh = usage(&full, 7, 8).unwrap();
        assert!(seventh.resources.is_empty());
        assert!(seventh.resources_truncated);
        assert!(!usage(&full, 1, 2).unwrap().resources_truncated);
    }
}
