//! The usage model: aggregates only, never events.

use crate::day::Day;
use crate::identity::{IdentityKey, Principal};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

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

/// One (identity, permission) aggregate.
#[derive(Debug, Clone, Default)]
pub(crate) struct PermissionRecord {
    /// Day -> records.
    days: BTreeMap<Day, u64>,
    /// Resource -> days it was seen on.
    resources: BTreeMap<String, BTreeSet<Day>>,
    /// Days on which a resource was seen that did not fit.
    dropped: BTreeSet<Day>,
}

impl PermissionRecord {
    pub(crate) fn add<'r>(
        &mut self,
        day: Day,
        calls: u64,
        resources: impl IntoIterator<Item = Cow<'r, str>>,
    ) {
        *self.days.entry(day).or_default() += calls;
        for resource in resources {
            self.add_resource(resource, std::iter::once(day));
        }
    }

    /// (Looked up borrowed, copied only when new.)
    fn add_resource(&mut self, resource: Cow<'_, str>, days: impl IntoIterator<Item = Day>) {
        if let Some(seen) = self.resources.get_mut(resource.as_ref()) {
            seen.extend(days);
        } else if self.resources.len() < MAX_RESOURCES_PER_PERMISSION {
            self.resources
                .insert(resource.into_owned(), days.into_iter().collect());
        } else {
            self.dropped.extend(days);
        }
    }

    pub(crate) fn merge(&mut self, other: PermissionRecord) {
        for (day, calls) in other.days {
            *self.days.entry(day).or_default() += calls;
        }
        for (resource, days) in other.resources {
            self.add_resource(Cow::Owned(resource), days);
        }
        self.dropped.extend(other.dropped);
    }

    fn window(&self, start: Day, end: Day, into: &mut PermissionUsage) -> bool {
        let mut any = false;
        for (day, calls) in self.days.range(start..end) {
            into.days.insert(*day);
            into.calls += calls;
            any = true;
        }
        if any {
            for (resource, days) in &self.resources {
                if days.range(start..end).next().is_some() {
                    into.resources.insert(resource.clone());
                }
            }
            into.resources_truncated |= self.dropped.range(start..end).next().is_some();
        }
        any
    }
}

/// Permission -> aggregate.
pub(crate) type Permissions = BTreeMap<String, PermissionRecord>;

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
            for (permission, record) in permissions {
                let mut usage = out.permissions.remove(permission).unwrap_or_default();
                if record.window(start, end, &mut usage) || !usage.days.is_empty() {
                    out.permissions.insert(permission.clone(), usage);
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
            .flat_map(|p| p.values())
            .map(|r| r.days.len())
            .sum()
    }
}
