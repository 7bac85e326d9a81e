"""Raw data browsing for admins; the reviewer console is separate."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import ApiKey, AuditEntry, Partner, User


@admin.register(User)
class TalkgateUserAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, ("Talkgate", {"fields": ("role", "partner")}))
    list_display = ("username", "email", "role", "partner", "is_active")


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "use_case", "rate_limit_per_minute", "created_at")
    list_filter = ("status", "use_case")
    exclude = ("claim_token_hash",)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "partner", "user", "revoked_at", "expires_at", "last_used_at")
    exclude = ("secret_hash",)
    readonly_fields = ("prefix", "scopes", "created_at", "last_used_at")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only."""

    list_display = ("id", "created_at", "kind", "actor", "method", "path", "status_code", "event_type")
    list_filter = ("kind", "event_type")

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
