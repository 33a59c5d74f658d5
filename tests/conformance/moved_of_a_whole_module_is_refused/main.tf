moved {
  from = module.old_app
  to   = module.app
}
