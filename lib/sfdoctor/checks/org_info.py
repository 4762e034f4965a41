"""The org and the user under diagnosis: one composite request for both.

Organization (edition, sandbox), the User with its profile's API Enabled, UserLogin
(frozen, password-locked), permission sets granting API Enabled, and the profile's login IP
ranges: five queries, one API call. Semi-joins on the username keep them independent of
each other, so an unknown username simply gives empty answers.
"""
from __future__ import annotations

from . import permissions
from .query import soql


def queries(username: str) -> dict[str, str]:
    """The SOQL of the org-and-user composite (pure: tested without a server)."""
    by_user = soql("SELECT Id FROM User WHERE Username = {}", username)
    profile_of_user = soql("SELECT ProfileId FROM User WHERE Username = {}", username)
    return {
        "org": "SELECT Id, Name, OrganizationType, IsSandbox, InstanceName FROM Organization LIMIT 1",
        "user": soql(
            "SELECT Id, Username, IsActive, UserType, LastLoginDate, ProfileId, Profile.Name, "
            "Profile.PermissionsApiEnabled FROM User WHERE Username = {} LIMIT 1", username),
        "userlogin": soql("SELECT IsFrozen, IsPasswordLocked FROM UserLogin WHERE UserId IN ({:literal}) LIMIT 1",
                          by_user),
        "apiperms": permissions.assignments_query(username),
        "ipranges": soql(
            "SELECT StartAddress, EndAddress, Description FROM LoginIpRange WHERE ProfileId IN ({:literal})",
            profile_of_user),
    }


