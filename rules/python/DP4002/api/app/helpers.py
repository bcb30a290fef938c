def help(): pass
