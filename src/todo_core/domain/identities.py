"""External identities: a user of another issuer (Better Auth, Neon Auth, any JWKS issuer),
known here by the pair (issuer, subject) and linked to one local user.

`ExternalClaims` is what a verified token says about its subject; `ExternalIdentity` is the
stored link, with the profile the issuer last reported and the issue time of the token that
reported it, so an older token never overwrites what a newer one said.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from todo_core.domain.users import NAME_MAX, normalize_email
from todo_core.domain.validation import to_utc
from todo_core.errors import ValidationError

ISSUER_MAX = 255
SUBJECT_MAX = 255


@dataclass(frozen=True)
class Profile:
    """The account fields an issuer's claims decide."""

    email: str
    name: str | None
    email_verified: bool


@dataclass(frozen=True, kw_only=True)
class ExternalClaims:
    issuer: str
    subject: str
    profile: Profile
    issued_at: datetime

    @classmethod
    def parse(
        cls,
        *,
        issuer: str,
        subject: str,
        email: object,
        name: object,
        email_verified: object,
        issued_at: datetime,
    ) -> ExternalClaims:
        """Claims as a verified token carries them; ValidationError names the unusable claim."""
        if not isinstance(subject, str) or not 1 <= len(subject) <= SUBJECT_MAX:
            raise ValidationError.of("sub", f"must be 1 to {SUBJECT_MAX} characters")
        if not isinstance(issuer, str) or not 1 <= len(issuer) <= ISSUER_MAX:
            raise ValidationError.of("iss", f"must be 1 to {ISSUER_MAX} characters")
        if not isinstance(email, str):
            raise ValidationError.of("email", "the token carries no email claim")
        profile = Profile(
            email=normalize_email(email),
            name=_display_name(name),
            # Only a JSON `true` counts: "true", 1 or a missing claim are not a verification.
            email_verified=email_verified is True,
        )
        return cls(
            issuer=issuer,
            subject=subject,
            profile=profile,
            issued_at=to_utc("iat", issued_at),
        )


def _display_name(value: object) -> str | None:
    # A name is decoration: an odd one (not text, too long, control characters) is trimmed or
    # dropped rather than refusing the person it belongs to.
    if not isinstance(value, str):
        return None
    text = "".join(ch for ch in value if ch.isprintable()).strip()[:NAME_MAX].strip()
    return text or None


@dataclass
class ExternalIdentity:
    issuer: str
    subject: str
    user_id: UUID
    email: str  # the profile as the issuer last reported it
    name: str | None
    email_verified: bool
    claims_issued_at: datetime  # `iat` of the token that reported it
    created_at: datetime
    updated_at: datetime

    @property
    def profile(self) -> Profile:
        return Profile(self.email, self.name, self.email_verified)

    def is_outdated_by(self, claims: ExternalClaims) -> bool:
        """Whether `claims` are newer than the ones stored and say something else."""
        return claims.issued_at > self.claims_issued_at and claims.profile != self.profile

    def record(self, claims: ExternalClaims, now: datetime) -> None:
        profile = claims.profile
        self.email, self.name, self.email_verified = (
            profile.email,
            profile.name,
            profile.email_verified,
        )
        self.claims_issued_at = claims.issued_at
        self.updated_at = now


def new_identity(claims: ExternalClaims, *, user_id: UUID, now: datetime) -> ExternalIdentity:
    profile = claims.profile
    return ExternalIdentity(
        issuer=claims.issuer,
        subject=claims.subject,
        user_id=user_id,
        email=profile.email,
        name=profile.name,
        email_verified=profile.email_verified,
        claims_issued_at=claims.issued_at,
        created_at=now,
        updated_at=now,
    )
