import { Schema, model } from 'mongoose';

const UserSchema = new Schema({ email: String, password: String });

UserSchema.post('save', function () {
  return undefined;
});

UserSchema.methods.check = function (user: any) {
  return user.get('password', { getters: false });
};

export const User = model('User', UserSchema);
