//! The shape of a Cloud Audit Log entry's `protoPayload`: the fields
//! `gcp::entry` reads (see `crate::typed`).

use crate::typed::{Str, object};

object!(
    /// `protoPayload`, a `google.cloud.audit.AuditLog`.
    Payload {
        service_name: Str<'de> = "serviceName",
        method_name: Str<'de> = "methodName",
        resource_name: Str<'de> = "resourceName",
        status: Status<'de> = "status",
        authentication_info: Authentication<'de> = "authenticationInfo",
        authorization_info: Vec<Check<'de>> = "authorizationInfo",
    }
);

object!(Status { code: u64 = "code" });

object!(Authentication {
    principal_email: Str<'de> = "principalEmail",
    principal_subject: Str<'de> = "principalSubject",
    service_account_delegation_info: Vec<Delegation<'de>> = "serviceAccountDelegationInfo",
});

object!(Delegation {
    principal_subject: Str<'de> = "principalSubject",
});

object!(Check {
    permission: Str<'de> = "permission",
    resource: Str<'de> = "resource",
    granted: bool = "granted",
    resource_attributes: ResourceAttributes<'de> = "resourceAttributes",
});

object!(ResourceAttributes {
    name: Str<'de> = "name",
});
