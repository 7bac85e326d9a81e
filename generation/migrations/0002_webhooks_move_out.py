# The webhook models now belong to the ``webhooks`` app; their tables stay (state only).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("generation", "0001_initial"),
        ("webhooks", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="WebhookDelivery"),
                migrations.DeleteModel(name="WebhookEndpoint"),
            ]
        )
    ]
