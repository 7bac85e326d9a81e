"""Public verification of suspect files: the API, the /verify page and its queue.

It names the job, the consent and the consent's status, so it sits above the apps that own them.
"""
