"""The hooks accounts offers other apps, so that it imports no feature app itself."""

from django.dispatch import Signal

# Sent with `user` (sender: User) inside the transaction that deletes the account,
# before its row goes. A receiver deletes the rows it keeps for the user and queues
# their stored files with core.files.files_delete_on_commit, so the files go only
# if the deletion commits.
user_data_delete = Signal()
