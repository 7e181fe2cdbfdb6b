app_name = "envelopes"

urlpatterns = []
