"""manage.py create_reviewer: add a reviewer (or admin) and optionally print a reviewer API key."""

from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import services
from accounts.models import Role, Scope
from core.errors import DomainError


class Command(BaseCommand):
    help = "Create a reviewer who can log in to the console and call the review API."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--admin", action="store_true", help="Make an admin instead of a reviewer.")
        parser.add_argument("--password-stdin", action="store_true", help="Read the password from stdin.")
        parser.add_argument("--with-key", action="store_true", help="Also create and print a reviewer API key.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["password_stdin"]:
            password = input().strip()
        elif options["with_key"]:
            password = None  # key-only reviewer; a password can be set later with changepassword
        else:
            password = getpass.getpass("Password: ")
        try:
            user = services.reviewer_create(
                username=options["username"],
                email=options["email"],
                password=password,
                role=Role.ADMIN if options["admin"] else Role.REVIEWER,
            )
            self.stdout.write(f"created {user.role} {user.username} (id {user.pk})")
            if options["with_key"]:
                _, token = services.api_key_create(
                    user=user, name="cli", scopes=[Scope.REVIEW], created_by="manage.py create_reviewer"
                )
                self.stdout.write(f"reviewer API key (shown once): {token}")
        except DomainError as exc:
            raise CommandError(exc.message) from exc
