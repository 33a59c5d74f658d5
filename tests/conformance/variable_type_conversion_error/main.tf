variable "count_of" {
  type    = number
  default = "many"
}
