from . import api, api_eligibility

urlpatterns = api.urlpatterns + api_eligibility.urlpatterns
